// The soak's upstream: the project's simulator (src/simulator/server.ts, the
// same server `npm run simulator` starts), in a process of its own so it
// outlives every gateway kill, plus a small control port on loopback from
// which the soak reads the simulator's truth at the end: its counters
// (consumed credits, requests by status) and every task it created.
// Configured by the usual SIMULATOR_* variables.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseSimulatorEnv } from '../../src/simulator/options.ts';
import { startSimulator } from '../../src/simulator/server.ts';

export interface SimTaskView {
  id: string;
  model: string;
  status: string;
  cost: number;
  consumedCredits: number;
  callbackUrl: string | null;
}

const options = parseSimulatorEnv(process.env);
const sim = await startSimulator({ ...options, port: options.port ?? 0 });

const control = createServer((req, res) => {
  const body =
    req.url === '/counters'
      ? sim.counters()
      : req.url === '/tasks'
        ? sim.tasks().map(
            (t): SimTaskView => ({
              id: t.id,
              model: t.model,
              status: t.status,
              cost: t.cost,
              consumedCredits: t.consumedCredits,
              callbackUrl: t.callbackUrl ?? null,
            }),
          )
        : null;
  res.writeHead(body === null ? 404 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
});
await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;

// The one line the soak waits for.
process.stdout.write(`${JSON.stringify({ ready: true, url: sim.url, apiKey: sim.apiKey, seed: sim.seed, controlUrl })}\n`);

const stop = () => {
  control.close();
  control.closeAllConnections();
  void sim.stop().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Its own process group keeps it out of the soak's signals; should the soak die
// without stopping it (SIGKILL), it goes too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) stop();
}, 1000).unref();
