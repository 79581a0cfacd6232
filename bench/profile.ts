// `tsx bench/profile.ts <file.cpuprofile>`: where a V8 CPU profile's time
// went, by layer of the gateway (the README's benchmark tables), from each
// sample's innermost frame that belongs to a layer we name (so a socket
// write counts for whoever wrote: the driver, or node's HTTP server). A
// sample whose stack holds no such frame counts as "other" (start-up's
// module loading, mostly).
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

/** Layers, tried in order on each frame from the innermost out. */
const LAYERS: Array<[string, (url: string, fn: string) => boolean]> = [
  ['start-up', (u) => u.startsWith('node:internal/modules') || u.includes('/tsx/dist/')],
  ['GC', (_u, fn) => fn === '(garbage collector)'],
  ['idle', (_u, fn) => fn === '(idle)'],
  ['driver (pg)', (u) => /node_modules\/(pg|pg-protocol|pg-pool|pg-types|postgres-[a-z]+|postgres)\//.test(u)],
  ['Prisma client', (u) => /node_modules\/(@prisma|\.prisma)\//.test(u) || u.includes('/src/generated/prisma/')],
  ['GraphQL parse + validation', (u) => /node_modules\/graphql\/(language|validation)\//.test(u) || u.includes('graphql-armor')],
  ['GraphQL execution', (u) => /node_modules\/graphql\/(execution|type|utilities|jsutils)\//.test(u) || u.includes('@graphql-tools/executor')],
  ['Pothos + resolvers', (u) => u.includes('@pothos/') || u.includes('/src/schema/')],
  ['auth + limits', (u) => u.includes('/src/auth/') || u.includes('/src/limits/') || u.includes('rate-limiter-flexible')],
  ['upstream call', (u) => u.includes('/src/upstream/') || /node_modules\/undici\//.test(u)],
  ['ledger + tasks', (u) => u.includes('/src/ledger/') || u.includes('/src/tasks/') || u.includes('/src/db/')],
  ['events', (u) => u.includes('/src/events/')],
  ['Yoga + envelop + plugins', (u) => /@envelop|graphql-yoga|@whatwg-node|@graphql-yoga|@escape\.tech/.test(u) || u.includes('/src/server/')],
  ['logging + metrics', (u) => /node_modules\/(pino|prom-client)/.test(u) || u.includes('/src/metrics/')],
  // Node's HTTP server; a socket write below it is its own. A socket write
  // below the driver (node:net, streams) is the driver's: those frames name no
  // layer and the walk goes on to their caller.
  ['HTTP (node)', (u) => /^node:(_http|http$|internal\/http)/.test(u)],
  ['program (native)', (_u, fn) => fn === '(program)'],
];

const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const layerOf = new Map<number, string>();
function classify(id: number): string {
  const known = layerOf.get(id);
  if (known) return known;
  let found = 'other';
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const { url, functionName } = byId.get(cur)!.callFrame;
    const layer = LAYERS.find(([, test]) => test(url, functionName));
    if (layer) {
      found = layer[0];
      break;
    }
  }
  layerOf.set(id, found);
  return found;
}
const totals = new Map<string, number>();
let all = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  all += dt;
  const layer = classify(id);
  totals.set(layer, (totals.get(layer) ?? 0) + dt);
});
// Shares of the time the process was busy serving, not starting (module loading).
const busy = all - (totals.get('idle') ?? 0) - (totals.get('start-up') ?? 0);
console.log(`profile ${process.argv[2]}: ${(all / 1e6).toFixed(1)} s, busy ${(busy / 1e6).toFixed(1)} s (start-up's ${((totals.get('start-up') ?? 0) / 1e6).toFixed(1)} s left out)`);
for (const [layer, us] of [...totals].sort((a, b) => b[1] - a[1])) {
  if (layer === 'idle' || layer === 'start-up') continue;
  console.log(`${layer.padEnd(28)} ${((100 * us) / busy).toFixed(1).padStart(5)}% of busy`);
}
if (process.argv[3] === '--top') {
  const self = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const { url, functionName } = byId.get(id)!.callFrame;
    const k = `${functionName || '(anon)'} ${url.replace(/.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}`;
    self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
if (process.argv[3] === '--inclusive') {
  // Time of samples whose stack holds the function (counted once per sample).
  const incl = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const { url, functionName } = byId.get(cur)!.callFrame;
      if (!process.argv[4] || url.includes(process.argv[4])) seen.add(`${functionName || '(anon)'} ${url.replace(/.*node_modules\//, '').replace(/^file:\/\/\/work\/main\//, '')}`);
    }
    for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
