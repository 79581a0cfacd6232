// The tenants' webhook endpoint, in the soak's process on loopback. It
// misbehaves on purpose: some deliveries always get a 500 (they must end
// FAILED after the whole retry schedule), other attempts get a 500 or hang
// past the gateway's webhook timeout at random, the rest a 200. It checks
// every signature (Standard Webhooks, README "Webhooks") against the tenant's
// secret and remembers what it acknowledged.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  /** The `webhook-id` header: the same on every retry of one delivery. */
  webhookId: string;
  tenant: number;
  attempts: number;
  /** Attempts answered 2xx at once (not the ones held past the timeout). */
  acknowledged: number;
  taskId: string | null;
  status: string | null;
}

export interface ReceiverOptions {
  /** Share of deliveries that always get a 500. */
  alwaysFail: number;
  /** Per attempt, of the others: share answered 500, share held for `hangMs`. */
  failRate: number;
  hangRate: number;
  hangMs: number;
}

export class WebhookReceiver {
  readonly deliveries = new Map<string, ReceivedDelivery>();
  badSignatures = 0;
  unknownTenant = 0;
  answered = { ok: 0, error: 0, hung: 0 };
  private readonly secrets = new Map<number, Buffer>();
  private server: Server | null = null;
  private readonly hanging = new Set<NodeJS.Timeout>();
  url = '';

  constructor(private readonly options: ReceiverOptions) {}

  setSecret(tenant: number, secret: string): void {
    this.secrets.set(tenant, Buffer.from(secret.replace(/^whsec_/, ''), 'base64'));
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const tenant = Number(/^\/hook\/(\d+)/.exec(req.url ?? '')?.[1] ?? -1);
        const webhookId = String(req.headers['webhook-id'] ?? '');
        const verdict = this.verify(tenant, req.headers, body);
        let payload: { data?: { id?: string; status?: string } } = {};
        try {
          payload = JSON.parse(body) as typeof payload;
        } catch {
          /* counted as a bad signature below if it was tampered with */
        }
        const seen = this.deliveries.get(webhookId) ?? {
          webhookId,
          tenant,
          attempts: 0,
          acknowledged: 0,
          taskId: payload.data?.id ?? null,
          status: payload.data?.status ?? null,
        };
        seen.attempts++;
        this.deliveries.set(webhookId, seen);
        if (!verdict) {
          res.writeHead(400).end('bad signature');
          return;
        }
        const roll = Math.random();
        if (this.alwaysFails(webhookId) || roll < this.options.failRate) {
          this.answered.error++;
          res.writeHead(500).end('receiver failing on purpose');
        } else if (roll < this.options.failRate + this.options.hangRate) {
          this.answered.hung++;
          const timer = setTimeout(() => {
            this.hanging.delete(timer);
            res.writeHead(200).end('too late');
          }, this.options.hangMs);
          this.hanging.add(timer);
        } else {
          this.answered.ok++;
          seen.acknowledged++;
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Deterministic per delivery, so every retry of an always-failing one fails. */
  alwaysFails(webhookId: string): boolean {
    const h = createHash('sha256').update(webhookId).digest().readUInt32BE(0);
    return h / 0x1_0000_0000 < this.options.alwaysFail;
  }

  private verify(tenant: number, headers: Record<string, string | string[] | undefined>, body: string): boolean {
    const key = this.secrets.get(tenant);
    if (!key) {
      this.unknownTenant++;
      return false;
    }
    const id = String(headers['webhook-id'] ?? '');
    const ts = String(headers['webhook-timestamp'] ?? '');
    const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
    const ok = String(headers['webhook-signature'] ?? '')
      .split(' ')
      .some((sig) => {
        const [version, value] = sig.split(',');
        const given = Buffer.from(value ?? '', 'base64');
        return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
      });
    if (!ok) this.badSignatures++;
    return ok;
  }

  async stop(): Promise<void> {
    for (const timer of this.hanging) clearTimeout(timer);
    this.hanging.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
