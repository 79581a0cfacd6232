// The tenants' traffic: generations of all four models with idempotency keys,
// some sent two or three times at once, some replayed later, every one
// retried with its own key after a dropped connection or a 500 (a kill, a
// database restart); and idempotent top-ups, also duplicated and retried.
// Everything a client was told is recorded for the final checks.
import { jitter, post, type Union } from './client.ts';
import type { GatewayPool } from './gateways.ts';
import { sleep } from './procs.ts';

export type Model = 'TEXT_TO_IMAGE' | 'TEXT_TO_VIDEO' | 'IMAGE_TO_VIDEO' | 'UPSCALE';

export interface Tenant {
  index: number;
  id: string;
  key: string;
  /** Kept short of credits on purpose, so INSUFFICIENT_CREDITS happens too. */
  lean: boolean;
  /** Successful tasks to animate (images) or upscale (any). */
  sources: { image: string[]; any: string[] };
}

export interface KeyRecord {
  tenant: number;
  key: string;
  model: Model;
  /** Every task id a success answer carried for this key. */
  taskIds: Set<string>;
}

export interface TopUpRecord {
  tenant: number;
  tenantId: string;
  key: string;
  amount: number;
  entryIds: Set<string>;
}

const FIELD: Record<Model, { field: string; input: string }> = {
  TEXT_TO_IMAGE: { field: 'textToImage', input: 'TextToImageInput' },
  TEXT_TO_VIDEO: { field: 'textToVideo', input: 'TextToVideoInput' },
  IMAGE_TO_VIDEO: { field: 'imageToVideo', input: 'ImageToVideoInput' },
  UPSCALE: { field: 'upscale', input: 'UpscaleInput' },
};

const mutation = (m: Model) =>
  `mutation($input: ${FIELD[m].input}!) { r: ${FIELD[m].field}(input: $input) {
     __typename ... on Error { code message } ... on RateLimitedError { retryAfterSeconds }
     ... on Mutation${FIELD[m].field[0]!.toUpperCase()}${FIELD[m].field.slice(1)}Success { data { id status } } } }`;

const TOP_UP = `mutation($input: TopUpCreditsInput!) { r: topUpCredits(input: $input) {
  __typename ... on Error { code message } ... on MutationTopUpCreditsSuccess { data { id amount } } } }`;

/** Answers a client may get in a soak; any other union member is a violation. */
const EXPECTED = new Set(['RATE_LIMITED', 'UPSTREAM_UNAVAILABLE', 'INSUFFICIENT_CREDITS']);

export interface LoadOptions {
  workersPerTenant: number;
  thinkMs: [number, number];
  receiverUrl: string;
  adminToken: string;
  onAccepted(tenant: Tenant, taskId: string): void;
}

export class Load {
  readonly keys = new Map<string, KeyRecord>();
  readonly topUps: TopUpRecord[] = [];
  readonly violations: string[] = [];
  readonly stats = { requests: 0, retries: 0, duplicateGroups: 0, replays: 0, accepted: 0, gaveUp: 0, answers: new Map<string, number>() };
  private stopping = false;
  private stopAt = Number.POSITIVE_INFINITY;
  private readonly running: Promise<void>[] = [];

  constructor(
    private readonly pool: GatewayPool,
    private readonly options: LoadOptions,
  ) {}

  start(tenants: Tenant[]): void {
    for (const t of tenants) {
      for (let w = 0; w < this.options.workersPerTenant; w++) this.running.push(this.generationWorker(t, w));
      this.running.push(this.topUpWorker(t));
    }
  }

  /** No new requests; those in flight finish (retried up to `graceMs` more). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopAt = Date.now() + graceMs;
    await Promise.all(this.running);
  }

  private count(answer: string): void {
    this.stats.answers.set(answer, (this.stats.answers.get(answer) ?? 0) + 1);
  }

  private async generationWorker(t: Tenant, worker: number): Promise<void> {
    for (let seq = 0; !this.stopping; seq++) {
      await sleep(jitter(...this.options.thinkMs));
      if (this.stopping) break;
      const key = `t${t.index}-w${worker}-${seq}`;
      const { model, input } = this.request(t, key);
      const record: KeyRecord = { tenant: t.index, key, model, taskIds: new Set() };
      this.keys.set(`${t.index}:${key}`, record);
      const copies = Math.random() < 0.12 ? 2 + Math.floor(Math.random() * 2) : 1;
      if (copies > 1) this.stats.duplicateGroups++;
      const answers = await Promise.all(Array.from({ length: copies }, () => this.generate(t, model, input, record)));
      const accepted = answers.find((a) => a !== null);
      if (accepted) {
        this.stats.accepted++;
        this.options.onAccepted(t, accepted);
        if (Math.random() < 0.15) {
          // A client that never saw its answer sends it again, later.
          await sleep(jitter(0, 1500));
          this.stats.replays++;
          await this.generate(t, model, input, record);
        }
      }
    }
  }

  private request(t: Tenant, key: string): { model: Model; input: Record<string, unknown> } {
    const roll = Math.random();
    let model: Model = roll < 0.4 ? 'TEXT_TO_IMAGE' : roll < 0.6 ? 'TEXT_TO_VIDEO' : roll < 0.8 ? 'IMAGE_TO_VIDEO' : 'UPSCALE';
    const input: Record<string, unknown> = { idempotencyKey: key };
    if (Math.random() < 0.6) input.callbackUrl = `${this.options.receiverUrl}/hook/${t.index}?key=${key}`;
    if (model === 'UPSCALE' && t.sources.any.length === 0) model = 'TEXT_TO_IMAGE';
    if (model === 'UPSCALE') input.sourceTaskId = pick(t.sources.any);
    else if (model === 'IMAGE_TO_VIDEO') {
      if (t.sources.image.length > 0 && Math.random() < 0.7) input.sourceTaskId = pick(t.sources.image);
      else input.imageUrls = [`https://example.com/soak/${key}.png`];
      input.prompt = 'slow zoom';
    } else input.prompt = `soak ${model} ${key}`;
    return { model, input };
  }

  /** One client's request, retried with the same key until it has an answer; the task id, or null. */
  private async generate(t: Tenant, model: Model, input: Record<string, unknown>, record: KeyRecord): Promise<string | null> {
    const deadline = Date.now() + 60_000;
    let unavailable = 0;
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > Math.min(deadline, this.stopAt)) {
        this.stats.gaveUp++;
        return null;
      }
      this.stats.requests++;
      if (attempt > 0) this.stats.retries++;
      const r = await post<{ r: Union<{ id: string; status: string }> }>(this.pool.pickUrl(), mutation(model), { input }, t.key);
      if (r.kind !== 'data') {
        this.count(r.kind === 'transport' ? `transport ${r.message}` : `top-level ${r.code}`);
        await sleep(jitter(150, 500));
        continue;
      }
      const u = r.data.r;
      if (u.data) {
        this.count('success');
        record.taskIds.add(u.data.id);
        return u.data.id;
      }
      const code = u.code ?? u.__typename;
      this.count(code);
      if (!EXPECTED.has(code)) {
        this.violations.push(`unexpected answer to ${model} (tenant ${t.index}, key ${record.key}): ${code}: ${u.message}`);
        return null;
      }
      if (code === 'INSUFFICIENT_CREDITS') return null;
      if (code === 'UPSTREAM_UNAVAILABLE' && ++unavailable >= 3) return null;
      await sleep(jitter(200, 800));
    }
  }

  private async topUpWorker(t: Tenant): Promise<void> {
    for (let n = 1; !this.stopping; n++) {
      await sleep(jitter(1500, 4000));
      if (this.stopping) break;
      const amount = t.lean ? 20 + Math.floor(Math.random() * 100) : 500 + Math.floor(Math.random() * 2500);
      const record: TopUpRecord = { tenant: t.index, tenantId: t.id, key: `topup-${n}`, amount, entryIds: new Set() };
      this.topUps.push(record);
      const copies = Math.random() < 0.3 ? 2 : 1;
      await Promise.all(Array.from({ length: copies }, () => this.topUp(record, this.stopAt)));
    }
  }

  /** An admin top-up, retried with its key until answered; false if it never was before `until`. */
  async topUp(record: TopUpRecord, until: number): Promise<boolean> {
    const input = { tenantId: record.tenantId, amount: record.amount, idempotencyKey: record.key, note: 'soak' };
    while (Date.now() < until) {
      const r = await post<{ r: Union<{ id: string; amount: number }> }>(this.pool.pickUrl(), TOP_UP, { input }, this.options.adminToken);
      if (r.kind === 'data') {
        const u = r.data.r;
        if (u.data) {
          record.entryIds.add(u.data.id);
          if (u.data.amount !== record.amount) this.violations.push(`top-up ${record.key} of tenant ${record.tenant}: answered amount ${u.data.amount}, sent ${record.amount}`);
          return true;
        }
        this.violations.push(`top-up ${record.key} of tenant ${record.tenant}: ${u.code}: ${u.message}`);
        return false;
      }
      await sleep(jitter(150, 500));
    }
    return false;
  }
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
