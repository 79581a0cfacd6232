// Test fixtures for webhook delivery: a real HTTP receiver on 127.0.0.1 and a
// task to hang deliveries on.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../../src/db/client.ts';
import { createTenant } from '../../src/tenants/service.ts';

export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Receiver {
  url: string;
  /** `127.0.0.1:<port>`, for the SSRF allow-list. */
  host: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * Answers the n-th request (0-based) with `status(n)`, after `delayMs`.
 */
export async function startReceiver(status: (n: number) => number, delayMs = 0): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() }) - 1;
      setTimeout(() => res.writeHead(status(n), { 'content-type': 'text/plain' }).end(`reply ${n}`), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks?token=abc`,
    host: `127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export async function createTaskFixture(db: Db): Promise<{ tenantId: string; taskId: string }> {
  const tenant = await createTenant(db, { name: `webhooks ${randomUUID()}` });
  const task = await db.task.create({
    data: {
      id: randomUUID(),
      tenantId: tenant.id,
      model: 'TEXT_TO_IMAGE',
      requestHash: 'x',
      callbackToken: 'x',
      creditsCharged: 5,
    },
  });
  return { tenantId: tenant.id, taskId: task.id };
}

/** Polls `read` until `done` holds, or fails after `timeoutMs`. */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
