// The end of the soak: what must hold once every task has ended, read from
// the database, the simulator's own books, the webhook receiver and what the
// clients were told. Each check prints its figures; a failing one says why.
import type { Sql } from 'postgres';
import { SYSTEM_ACCOUNTS } from '../../src/ledger/accounts.ts';
import { rowId } from './client.ts';
import type { Load } from './load.ts';
import type { WebhookReceiver } from './receiver.ts';
import type { SimTaskView } from './simulator.ts';
import type { Subscribers } from './subscribers.ts';

export interface Check {
  name: string;
  ok: boolean;
  lines: string[];
}

export interface SimCounters {
  requests: Record<string, Record<string, number>>;
  consumedCredits: number;
  creditsCharged: number;
  creditsRefunded: number;
  tasks: { created: number; inProgress: number; succeeded: number; failed: number };
}

interface TaskRow {
  id: string;
  tenant_id: string;
  status: string;
  callback_url: string | null;
  upstream_task_id: string | null;
  charge_id: string | null;
  upstream_charge_id: string | null;
  credits_charged: number;
  refunded: boolean;
  error_message: string | null;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function taskCounts(sql: Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`SELECT status::text, count(*)::int AS n FROM task GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export function checkTasksEnded(counts: Record<string, number>): Check {
  const open = (counts.SUBMITTING ?? 0) + (counts.IN_PROGRESS ?? 0);
  const total = sum(Object.values(counts));
  return {
    name: 'every task ended',
    ok: open === 0,
    lines: [`tasks=${total} SUCCESS=${counts.SUCCESS ?? 0} FAILED=${counts.FAILED ?? 0} SUBMITTING=${counts.SUBMITTING ?? 0} IN_PROGRESS=${counts.IN_PROGRESS ?? 0}`],
  };
}

/** balance = top-ups − charges + refunds, per tenant, with top-ups as the clients made them. */
export async function checkBalances(sql: Sql, load: Load): Promise<Check> {
  const rows = await sql<{ tenant_id: string; available: number; held: number; in_flight: number; top_ups: number; charges: number; refunds: number; other: number; task_charges: number; task_refunds: number }[]>`
    SELECT a.tenant_id::text, a.available, a.held, a.in_flight,
      COALESCE((SELECT sum(amount) FROM transfer WHERE kind = 'TOP_UP' AND credit_account_id = a.id), 0)::int AS top_ups,
      COALESCE((SELECT sum(amount) FROM transfer WHERE kind = 'CHARGE' AND debit_account_id = a.id), 0)::int AS charges,
      COALESCE((SELECT sum(amount) FROM transfer WHERE kind = 'REFUND' AND credit_account_id = a.id), 0)::int AS refunds,
      (SELECT count(*) FROM transfer WHERE kind NOT IN ('TOP_UP', 'CHARGE', 'REFUND') AND a.id IN (debit_account_id, credit_account_id))::int AS other,
      COALESCE((SELECT sum(credits_charged) FROM task WHERE tenant_id = a.tenant_id AND charge_id IS NOT NULL), 0)::int AS task_charges,
      COALESCE((SELECT sum(credits_charged) FROM task WHERE tenant_id = a.tenant_id AND refunded), 0)::int AS task_refunds
    FROM account a WHERE a.kind = 'TENANT' ORDER BY a.tenant_id`;
  const lines: string[] = [];
  let ok = true;
  for (const r of rows) {
    const made = sum(load.topUps.filter((t) => rowId(t.tenantId) === r.tenant_id).map((t) => t.amount));
    const balance = r.available + r.held;
    const good =
      balance === made - r.charges + r.refunds &&
      r.top_ups === made &&
      r.held === 0 &&
      r.in_flight === 0 &&
      r.other === 0 &&
      r.charges === r.task_charges &&
      r.refunds === r.task_refunds;
    ok &&= good;
    lines.push(
      `${good ? 'ok ' : 'BAD'} tenant ${r.tenant_id.slice(0, 8)}: balance ${balance} = top-ups ${made} (ledger ${r.top_ups}) - charges ${r.charges} (tasks ${r.task_charges}) + refunds ${r.refunds} (tasks ${r.task_refunds}); held ${r.held}, in flight ${r.in_flight}, other transfers ${r.other}`,
    );
  }
  const topUpsAnswered = load.topUps.filter((t) => t.entryIds.size === 1).length;
  if (topUpsAnswered !== load.topUps.length) {
    ok = false;
    lines.push(`BAD top-ups answered with exactly one entry: ${topUpsAnswered} of ${load.topUps.length}`);
  } else lines.push(`top-ups: ${load.topUps.length} keys, each answered with one entry however often it was sent`);
  return { name: "every tenant's balance = top-ups - charges + refunds", ok, lines };
}

/** Mirrored upstream spend against the simulator's consumed credits, task by task. */
export async function checkUpstreamSpend(sql: Sql, simTasks: SimTaskView[], counters: SimCounters): Promise<Check> {
  const [spend] = await sql<{ mirrored: number; entries: number }[]>`
    SELECT COALESCE((SELECT sum(CASE kind WHEN 'UPSTREAM_CHARGE' THEN amount ELSE -amount END) FROM transfer
                     WHERE kind IN ('UPSTREAM_CHARGE', 'UPSTREAM_REFUND')), 0)::int AS mirrored,
           COALESCE((SELECT sum(amount) FROM entry WHERE account_id = ${SYSTEM_ACCOUNTS.UPSTREAM_SPEND}::uuid), 0)::int AS entries`;
  const tasks = await sql<(TaskRow & { mirror: number })[]>`
    SELECT t.id::text, t.tenant_id::text, t.status::text, t.upstream_task_id, t.charge_id::text,
           t.credits_charged, t.refunded, t.error_message, t.callback_url,
           COALESCE(m.amount, 0) - COALESCE(r.amount, 0) AS mirror
    FROM task t LEFT JOIN transfer m ON m.id = t.upstream_charge_id LEFT JOIN transfer r ON r.reverses_id = m.id`;
  const byUpstream = new Map(tasks.filter((t) => t.upstream_task_id).map((t) => [t.upstream_task_id!, t]));
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const problems: string[] = [];
  let known = 0;
  let orphanCredits = 0;
  let orphans = 0;
  for (const s of simTasks) {
    const task = byUpstream.get(s.id);
    if (task) {
      known += s.consumedCredits;
      if (task.mirror !== s.consumedCredits) problems.push(`task ${task.id}: mirrored ${task.mirror}, upstream consumed ${s.consumedCredits}`);
      if (task.status !== s.status) problems.push(`task ${task.id}: ${task.status} here, ${s.status} upstream`);
      continue;
    }
    // Upstream made a task the gateway holds no id for: its process died (or
    // gave up) between upstream's answer and the charge (README, "Crash recovery").
    orphans++;
    orphanCredits += s.consumedCredits;
    const ownerId = /\/upstream\/callback\/([0-9a-f-]{36})\//.exec(s.callbackUrl ?? '')?.[1];
    const owner = ownerId ? byId.get(ownerId) : undefined;
    if (!owner || owner.status !== 'FAILED' || owner.charge_id !== null) {
      problems.push(`upstream task ${s.id} belongs to no uncharged failed task (owner ${ownerId}: ${owner?.status ?? 'missing'}, charge ${owner?.charge_id ?? 'none'})`);
    }
  }
  const upstreamIds = new Set(simTasks.map((s) => s.id));
  for (const t of tasks) {
    if (t.upstream_task_id && !upstreamIds.has(t.upstream_task_id)) problems.push(`task ${t.id}: upstream task ${t.upstream_task_id} unknown upstream`);
  }
  const simTotal = sum(simTasks.map((s) => s.consumedCredits));
  const ok = problems.length === 0 && spend!.mirrored === known && spend!.entries === spend!.mirrored && simTotal === counters.consumedCredits;
  const req = (endpoint: string) =>
    Object.entries(counters.requests[endpoint] ?? {})
      .map(([status, n]) => `${status}:${n}`)
      .join(' ');
  return {
    name: "mirrored upstream spend = the simulator's consumed credits (each orphan of a killed submission accounted for)",
    ok,
    lines: [
      `mirrored UPSTREAM_SPEND ${spend!.mirrored} (entries ${spend!.entries}) = consumed ${known} by the ${simTasks.length - orphans} upstream tasks the gateway holds`,
      `simulator consumed ${counters.consumedCredits} in all (charged ${counters.creditsCharged}, refunded ${counters.creditsRefunded}) = ${known} + ${orphanCredits} of ${orphans} orphan tasks, each owned by a FAILED task charged nothing (killed between upstream's answer and the charge)`,
      `simulator tasks: created ${counters.tasks.created}, succeeded ${counters.tasks.succeeded}, failed ${counters.tasks.failed}, in progress ${counters.tasks.inProgress}`,
      `simulator requests: generate ${req('generate')} | status ${req('status')}`,
      ...problems.slice(0, 20).map((p) => `BAD ${p}`),
    ],
  };
}

/** Every delivery DELIVERED or FAILED after its whole schedule; one per ended task with a callback. */
export async function checkWebhooks(sql: Sql, receiver: WebhookReceiver, schedule: number[]): Promise<Check> {
  const deliveries = await sql<{ id: string; status: string; attempts: number; payload_status: string | null; task_status: string; span_ms: number; logged: number }[]>`
    SELECT d.id::text, d.status::text, d.attempts, d.payload->'data'->>'status' AS payload_status, t.status::text AS task_status,
           COALESCE(extract(epoch FROM d.last_attempt_at - d.created_at) * 1000, 0)::float8 AS span_ms,
           (SELECT count(*) FROM webhook_attempt WHERE delivery_id = d.id)::int AS logged
    FROM webhook_delivery d JOIN task t ON t.id = d.task_id`;
  const [expected] = await sql<{ want: number; wrong: number }[]>`
    SELECT count(*) FILTER (WHERE want AND n <> 1)::int + count(*) FILTER (WHERE NOT want AND n <> 0)::int AS wrong, count(*) FILTER (WHERE want)::int AS want
    FROM (SELECT (t.callback_url IS NOT NULL AND t.status IN ('SUCCESS', 'FAILED')
                  AND (t.upstream_task_id IS NOT NULL OR t.error_message LIKE 'Submission interrupted%')) AS want,
                 (SELECT count(*) FROM webhook_delivery d WHERE d.task_id = t.id) AS n FROM task t) x`;
  const problems: string[] = [];
  const byStatus: Record<string, number> = {};
  let alwaysFailing = 0;
  let unlogged = 0;
  let overlapping = 0;
  for (const d of deliveries) {
    byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
    const msgId = `msg_${d.id.replaceAll('-', '')}`;
    const seen = receiver.deliveries.get(msgId);
    if (d.payload_status !== d.task_status) problems.push(`delivery ${d.id}: says ${d.payload_status}, task is ${d.task_status}`);
    // Two processes may both send a delivery whose lease ran out mid-attempt (both attempts are
    // logged, the second finds the row already moved on), and an attempt whose log line could
    // not be written is counted without it: the log and the count may differ either way.
    if (d.logged > d.attempts) overlapping++;
    if (d.logged < d.attempts) unlogged += d.attempts - d.logged;
    if (d.status === 'PENDING') problems.push(`delivery ${d.id}: still PENDING after ${d.attempts} attempts`);
    if (d.status === 'DELIVERED' && !(seen && seen.acknowledged > 0)) problems.push(`delivery ${d.id}: DELIVERED but the receiver never acknowledged it`);
    if (d.status === 'FAILED') {
      if (receiver.alwaysFails(msgId)) alwaysFailing++;
      if (d.attempts < schedule.length + 1) problems.push(`delivery ${d.id}: FAILED after ${d.attempts} attempts, the schedule has ${schedule.length + 1}`);
      if (d.span_ms < sum(schedule) - 5) problems.push(`delivery ${d.id}: FAILED ${Math.round(d.span_ms)} ms after it was written, the schedule takes ${sum(schedule)} ms`);
    }
  }
  const delivered = deliveries.filter((d) => d.status === 'DELIVERED');
  const known = new Set(deliveries.map((d) => `msg_${d.id.replaceAll('-', '')}`));
  const unknown = [...receiver.deliveries.keys()].filter((id) => !known.has(id));
  if (unknown.length > 0) problems.push(`${unknown.length} webhook ids received that no delivery row has`);
  if (receiver.badSignatures > 0) problems.push(`${receiver.badSignatures} deliveries with a bad signature`);
  if (expected!.wrong > 0) problems.push(`${expected!.wrong} ended tasks with a callback URL without exactly one delivery (or rejected ones with one)`);
  const attempts = sum(deliveries.map((d) => d.attempts));
  return {
    name: 'every webhook delivered, or FAILED after its schedule',
    ok: problems.length === 0,
    lines: [
      `deliveries ${deliveries.length} (expected ${expected!.want}): DELIVERED ${byStatus.DELIVERED ?? 0}, FAILED ${byStatus.FAILED ?? 0} (${alwaysFailing} to an always-failing id), PENDING ${byStatus.PENDING ?? 0}; attempts ${attempts}, ${delivered.filter((d) => d.attempts > 1).length} delivered after a retry`,
      `attempt log: ${unlogged} attempts counted but not logged (recording failed), ${overlapping} deliveries with more attempts logged than counted (sent again after a lease ran out)`,
      `receiver answered ${receiver.answered.ok} x 2xx, ${receiver.answered.error} x 500, held ${receiver.answered.hung} past the timeout; signatures checked, bad ${receiver.badSignatures}`,
      ...problems.slice(0, 20).map((p) => `BAD ${p}`),
    ],
  };
}

/** What clients were told agrees with the database: one charged task per key, followers saw each end. */
export async function checkClients(sql: Sql, load: Load, subscribers: Subscribers): Promise<Check> {
  const rows = await sql<{ id: string; status: string; charged: boolean }[]>`SELECT id::text, status::text, charge_id IS NOT NULL AS charged FROM task`;
  const byId = new Map(rows.map((r) => [r.id, r]));
  const problems = [...load.violations];
  let ids = 0;
  let multi = 0;
  for (const record of load.keys.values()) {
    const tasks = [...record.taskIds].map((g) => byId.get(rowId(g)));
    ids += tasks.length;
    if (tasks.length > 1) multi++;
    if (tasks.some((t) => !t)) problems.push(`key ${record.key}: answered with a task id the database does not have`);
    if (tasks.filter((t) => t?.charged).length > 1) problems.push(`key ${record.key} of tenant ${record.tenant}: ${tasks.length} tasks charged`);
  }
  let followed = 0;
  for (const f of subscribers.follows) {
    const task = byId.get(rowId(f.taskId));
    if (f.finalStatus === null) problems.push(`follower (${f.via}) of ${rowId(f.taskId)} never saw it end (${task?.status})`);
    else if (f.finalStatus !== task?.status) problems.push(`follower (${f.via}) of ${rowId(f.taskId)} saw ${f.finalStatus}, task is ${task?.status}`);
    else followed++;
  }
  const s = subscribers.stats;
  if (s.wsEvents === 0 || s.sseEvents === 0 || s.balanceEvents === 0) problems.push('a subscription feed received nothing');
  const resubscribed = subscribers.follows.filter((f) => f.subscriptions > 1).length;
  return {
    name: 'clients: one charged task per idempotency key; subscribers saw every followed task end',
    ok: problems.length === 0,
    lines: [
      `keys ${load.keys.size}, task ids answered ${ids}, keys answered with more than one task (the first rejected, the key released) ${multi}`,
      `followers ${subscribers.follows.length} (ws ${subscribers.follows.filter((f) => f.via === 'ws').length}, sse ${subscribers.follows.filter((f) => f.via === 'sse').length}): saw the final status ${followed}, after resubscribing ${resubscribed}`,
      `events: ws tasksUpdated ${s.wsEvents}, sse tasksUpdated ${s.sseEvents}, balanceChanged ${s.balanceEvents}; connections ws ${s.wsConnections}, sse ${s.sseConnections}; event errors ${JSON.stringify(Object.fromEntries(s.eventErrors))}`,
      ...problems.slice(0, 20).map((p) => `BAD ${p}`),
    ],
  };
}
