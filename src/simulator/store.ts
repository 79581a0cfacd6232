// The simulated reseller account and its tasks: charging at creation,
// completion on a timer (or on demand), refunds on failure and late refunds
// (after a success was read), and the /status view of a task. Everything the
// accounting test checks lives here.
import type { CallbackSender } from './callbacks.ts';
import { CREDITS, type Model, RULES, type WireInput } from './contract.ts';
import type { SimulatorOptions } from './options.ts';
import type { Rng } from './rng.ts';
import type { GenerateRequest } from './validate.ts';

export type SimTaskStatus = 'IN_PROGRESS' | 'SUCCESS' | 'FAILED';
export type SimOutcome = 'SUCCESS' | 'FAILED';

export interface SimTask {
  id: string;
  model: Model;
  /** What the result files are; an upscale inherits its source's kind. */
  kind: 'image' | 'video';
  /** Side of the square result in pixels. */
  size: number;
  status: SimTaskStatus;
  request: { model: Model; input: WireInput };
  callbackUrl: string | undefined;
  public: boolean;
  cost: number;
  consumedCredits: number;
  errorMessage: string | null;
  createdAt: string;
  dueAt: number;
  planned: SimOutcome;
  /**
   * Upstream changes its mind (SIMULATOR_LATE_REFUND_RATE): once a /status
   * read has reported this task's SUCCESS with its credits, it is refunded
   * and reports consumed_credits 0 from then on.
   */
  lateRefund: boolean;
  resultUrls: string[];
}

const PROVIDER_ERRORS = [
  'content moderation: the request was rejected by the provider',
  'provider timeout while rendering',
  'provider internal error',
];

export interface StoreDeps {
  rng: Rng;
  options: () => SimulatorOptions;
  /** Origin used in resultUrls. */
  origin: () => string;
  callbacks: CallbackSender;
  /** Called when a task succeeds, before its status can be read (the result files are saved here). */
  onSuccess?: (task: SimTask) => void;
}

export type CreateResult = { ok: true; task: SimTask } | { ok: false; status: 400 | 402; message: string };

export function createTaskStore(deps: StoreDeps) {
  const tasks = new Map<string, SimTask>();
  const timers = new Map<string, NodeJS.Timeout>();
  const account = { balance: deps.options().credits, charged: 0, refunded: 0 };

  function newId(): string {
    for (;;) {
      const id = `n${deps.rng.hex(17)}kie`;
      if (!tasks.has(id)) return id;
    }
  }

  /** Checks input.task_id references; returns the source task or a message. */
  function source(req: GenerateRequest): { ok: true; task?: SimTask } | { ok: false; message: string } {
    const ref = req.input.task_id;
    if (ref === undefined) return { ok: true };
    const src = tasks.get(ref);
    if (!src) return { ok: false, message: `input.task_id ${JSON.stringify(ref)} does not exist` };
    refresh(src);
    if (src.status !== 'SUCCESS') {
      return { ok: false, message: `input.task_id ${JSON.stringify(ref)} has not succeeded (status ${src.status})` };
    }
    if (RULES[req.model].needsImageSource && src.kind !== 'image') {
      return { ok: false, message: `input.task_id ${JSON.stringify(ref)} is a video; ${req.model} needs an image` };
    }
    return { ok: true, task: src };
  }

  function create(req: GenerateRequest): CreateResult {
    const ref = source(req);
    if (!ref.ok) return { ok: false, status: 400, message: ref.message };
    const cost = CREDITS[req.model];
    if (account.balance < cost) {
      return { ok: false, status: 402, message: `insufficient credits: ${cost} required, ${account.balance} available` };
    }
    const opts = deps.options();
    const latency = opts.latencyMs[req.model];
    const now = Date.now();
    const upscale = req.model === 'grok-imagine/upscale';
    const result = RULES[req.model].result;
    const kind = result === 'source' ? (ref.task?.kind === 'image' ? 'image' : 'video') : result;
    const task: SimTask = {
      id: newId(),
      model: req.model,
      kind,
      size: kind === 'image' ? (upscale ? 128 : 64) : 32,
      status: 'IN_PROGRESS',
      request: { model: req.model, input: { ...req.input } },
      callbackUrl: req.callbackUrl,
      public: req.public,
      cost,
      consumedCredits: cost,
      errorMessage: null,
      createdAt: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      dueAt: now + deps.rng.int(latency.minMs, latency.maxMs),
      planned: deps.rng.next() < opts.failureRate ? 'FAILED' : 'SUCCESS',
      // Drawn only when asked for, so seeded runs without it repeat as before.
      lateRefund: opts.lateRefundRate > 0 && deps.rng.next() < opts.lateRefundRate,
      resultUrls: [],
    };
    account.balance -= cost;
    account.charged += cost;
    tasks.set(task.id, task);
    const timer = setTimeout(() => complete(task.id), Math.max(0, task.dueAt - now));
    timer.unref();
    timers.set(task.id, timer);
    return { ok: true, task };
  }

  function complete(id: string, outcome?: SimOutcome): boolean {
    const task = tasks.get(id);
    if (!task || task.status !== 'IN_PROGRESS') return false;
    const timer = timers.get(id);
    if (timer) clearTimeout(timer);
    timers.delete(id);
    const final = outcome ?? task.planned;
    if (final === 'FAILED') {
      task.status = 'FAILED';
      // Chosen from the id, not the shared RNG: completion happens on timers,
      // and drawing here would make a seeded run depend on timing.
      task.errorMessage = PROVIDER_ERRORS[Number.parseInt(task.id.slice(1, 9), 16) % PROVIDER_ERRORS.length]!;
      refund(task);
    } else {
      task.status = 'SUCCESS';
      const ext = task.kind === 'image' ? 'png' : 'mp4';
      task.resultUrls = [`${deps.origin()}/files/${task.id}/0.${ext}`];
      deps.onSuccess?.(task);
    }
    if (task.callbackUrl) deps.callbacks.send(task.callbackUrl, { code: 200, message: 'success', data: statusData(task) });
    return true;
  }

  function refund(task: SimTask): void {
    account.balance += task.consumedCredits;
    account.refunded += task.consumedCredits;
    task.consumedCredits = 0;
  }

  /**
   * The /status answer for a task. A late refund happens right after the
   * first answer that reports the task's SUCCESS with its credits: that
   * reader saw it succeed and be charged, every later one sees it refunded.
   */
  function statusRead(task: SimTask) {
    const data = statusData(task);
    if (task.lateRefund && task.status === 'SUCCESS' && task.consumedCredits > 0) {
      task.lateRefund = false;
      refund(task);
    }
    return data;
  }

  /** Like upstream, a poll of an unfinished task asks "the provider" again: a task past due completes now. */
  function refresh(task: SimTask): void {
    if (task.status === 'IN_PROGRESS' && Date.now() >= task.dueAt) complete(task.id);
  }

  function statusData(task: SimTask) {
    return {
      task_id: task.id,
      status: task.status,
      request: task.request,
      response: task.status === 'SUCCESS' ? { resultUrls: task.resultUrls } : null,
      consumed_credits: task.consumedCredits,
      error_message: task.errorMessage,
      created_at: task.createdAt,
    };
  }

  return {
    create,
    complete,
    statusData,
    statusRead,
    get(id: string): SimTask | undefined {
      const task = tasks.get(id);
      if (task) refresh(task);
      return task;
    },
    /** Forces completion of one task, or of every unfinished one; returns how many completed. */
    completeNow(id?: string, outcome?: SimOutcome): number {
      if (id !== undefined) return complete(id, outcome) ? 1 : 0;
      let n = 0;
      for (const taskId of [...timers.keys()]) if (complete(taskId, outcome)) n++;
      return n;
    },
    /** Public tasks, newest first. */
    publicTasks(includeUnfinished: boolean): SimTask[] {
      const out: SimTask[] = [];
      for (const task of tasks.values()) {
        refresh(task);
        if (task.public && (includeUnfinished || task.status === 'SUCCESS')) out.push(task);
      }
      return out.reverse();
    },
    all: (): SimTask[] => [...tasks.values()],
    account: () => ({ ...account }),
    setBalance(n: number) {
      account.balance = n;
    },
    pendingCount: () => timers.size,
    stop() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

export type TaskStore = ReturnType<typeof createTaskStore>;
