// `tsx bench/subscriptions-snapshot.ts [N]`: where a subscription's memory
// goes. One gateway process and N graphql-ws clients, as in
// bench:subscriptions (bench/subscriptions-server.ts, bench/ws-clients.ts);
// a heap snapshot after a full GC with no connection, one with N/4 and one
// with N subscribed; the first and last compared by constructor (closures by
// the file and line of their function): what each subscription keeps alive
// for its whole life, in objects and bytes per subscription (README,
// "bench:subscriptions"). The snapshots stay in BENCH_SNAPSHOT_DIR (default
// a temporary directory) for Chrome DevTools' Memory tab.
//
// PostgreSQL is DATABASE_URL or an embedded one (bench/lib.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { benchDatabase } from './lib.ts';
import type { ServerSettings } from './subscriptions-server.ts';
import type { ClientSettings } from './ws-clients.ts';

const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 2000);
const TOP = Number(process.env.BENCH_TOP ?? 50);
const DIR = process.env.BENCH_SNAPSHOT_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'subscriptions-snapshot-'));
mkdirSync(DIR, { recursive: true });
const WARM = 50;

type Message = { type: string } & Record<string, unknown>;

class Child {
  readonly proc: ChildProcess;
  private readonly inbox: Message[] = [];
  private waiter: (() => void) | null = null;
  private readonly script: string;

  constructor(script: string, flags: string[], args: string[], stdinFirst?: unknown) {
    const fds = N + WARM + 1024;
    this.script = script;
    this.proc = spawn('sh', ['-c', `ulimit -n ${fds} 2>/dev/null; exec "$0" "$@"`, process.execPath, ...flags, '--import', 'tsx', script, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, MALLOC_ARENA_MAX: '1' },
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      this.inbox.push(JSON.parse(line) as Message);
      this.waiter?.();
    });
    this.proc.once('exit', () => this.waiter?.());
    if (stdinFirst !== undefined) this.send(stdinFirst);
  }

  send(command: unknown): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  async expect<T>(type: string): Promise<Message & T> {
    for (;;) {
      const index = this.inbox.findIndex((m) => m.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Message & T;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`${this.script} exited while waiting for ${type}`);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async request<T>(command: Record<string, unknown>, type: string): Promise<Message & T> {
    this.send(command);
    return this.expect<T>(type);
  }
}

interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
      location_fields?: string[];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
  locations?: number[];
}

/** A script's URL as printed: from node_modules/ on, or relative to this directory. */
function scriptName(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  return modules >= 0 ? file.slice(modules + 'node_modules/'.length) : path.relative(process.cwd(), file);
}

/**
 * Count and self size of each kind of node in a snapshot: objects by
 * constructor, closures by name and where their function is written (file
 * and line: an anonymous closure is found by its place), strings, code and
 * numbers by type only.
 */
function census(file: string): Map<string, { count: number; size: number }> {
  const snapshot = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const meta = snapshot.snapshot.meta;
  const { nodes, edges, strings } = snapshot;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const width = meta.node_fields.length;
  const edgeWidth = meta.edge_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [
    number,
    number,
    number,
    number,
  ];
  const [edgeTypeAt, edgeNameAt, edgeToAt] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const named = (type: string) => type !== 'element' && type !== 'hidden';
  // Each node's first edge, and each closure's line (locations: node offset, script, line, column).
  const firstEdge = new Uint32Array(nodes.length / width + 1);
  for (let i = 0, edge = 0; i < nodes.length; i += width) {
    firstEdge[i / width] = edge;
    edge += nodes[i + edgeCountAt]! * edgeWidth;
  }
  firstEdge[nodes.length / width] = edges.length;
  // Line and column of the code as run (tsx's output for our own files, one line each).
  const places = new Map<number, string>();
  const locationFields = meta.location_fields ?? ['object_index', 'script_id', 'line', 'column'];
  const [objectAt, lineAt, columnAt] = ['object_index', 'line', 'column'].map((f) => locationFields.indexOf(f)) as [number, number, number];
  const locations = snapshot.locations ?? [];
  for (let i = 0; i < locations.length; i += locationFields.length) {
    places.set(locations[i + objectAt]!, `${locations[i + lineAt]! + 1}:${locations[i + columnAt]! + 1}`);
  }
  const edgeTo = (node: number, name: string): number | null => {
    for (let e = firstEdge[node / width]!; e < firstEdge[node / width + 1]!; e += edgeWidth) {
      if (named(edgeTypes[edges[e + edgeTypeAt]!]!) && strings[edges[e + edgeNameAt]!] === name) return edges[e + edgeToAt]!;
    }
    return null;
  };
  const out = new Map<string, { count: number; size: number }>();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]!]!;
    let name = strings[nodes[i + nameAt]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'code') name = '';
    if (name.length > 60) name = `${name.slice(0, 57)}...`;
    if (type === 'closure') {
      const shared = edgeTo(i, 'shared');
      const script = shared === null ? null : (edgeTo(shared, 'script_or_debug_info') ?? edgeTo(shared, 'script'));
      const url = script === null ? '' : strings[nodes[script + nameAt]!]!;
      if (url) name = `${name || '(anonymous)'} ${scriptName(url)}:${places.get(i) ?? '?'}`;
    }
    const key = `${type}\t${name}`;
    const entry = out.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt]!;
    out.set(key, entry);
  }
  return out;
}

const database = await benchDatabase();
const server = new Child(
  'bench/subscriptions-server.ts',
  ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16', '--no-flush-bytecode', '--no-memory-reducer'],
  [JSON.stringify({ kind: 'gateway', n: N, databaseUrl: database.url, poolSize: 20, keepAliveMs: 60_000, maxConnections: N + WARM + 100 } satisfies ServerSettings)],
);
let clients: Child | null = null;
try {
  const ready = await server.expect<Record<string, unknown>>('ready');
  clients = new Child('bench/ws-clients.ts', [], [], {
    kind: 'gateway',
    url: String(ready['url']),
    n: N,
    warm: WARM,
    window: 200,
    key: String(ready['key']),
    ids: ready['ids'] as string[],
  } satisfies ClientSettings);
  await clients.expect('warmed');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = path.join(DIR, 'none.heapsnapshot');
  await server.request({ cmd: 'snapshot', file: before }, 'snapshot');
  // A quarter first, as bench:subscriptions reads it: what the reading with
  // no connection held and the next one did not is in the first two snapshots.
  for (const [count, file] of [
    [Math.floor(N / 4), 'quarter.heapsnapshot'],
    [N - Math.floor(N / 4), null],
  ] as const) {
    const subscribed = await clients.request<{ subscribed: number; failures: Record<string, number> }>({ cmd: 'connect', count }, 'subscribed');
    if (subscribed.subscribed !== count) throw new Error(`${subscribed.subscribed} of ${count} subscribed: ${JSON.stringify(subscribed.failures)}`);
    if (file) await server.request({ cmd: 'snapshot', file: path.join(DIR, file) }, 'snapshot');
  }
  const after = path.join(DIR, 'all.heapsnapshot');
  await server.request({ cmd: 'snapshot', file: after }, 'snapshot');

  const [a, b] = [census(before), census(after)];
  const rows = [...b.entries()]
    .map(([key, { count, size }]) => {
      const was = a.get(key) ?? { count: 0, size: 0 };
      return { key, count: (count - was.count) / N, size: (size - was.size) / N };
    })
    .filter((row) => Math.abs(row.size) >= 1 || Math.abs(row.count) >= 0.5);
  rows.sort((x, y) => y.size - x.size);
  const total = rows.reduce((sum, row) => sum + row.size, 0);
  console.log(`per subscription (N=${N}), heap snapshots ${before} and ${after}`);
  console.log(`${'bytes'.padStart(8)} ${'objects'.padStart(8)}  type  constructor`);
  for (const row of rows.slice(0, TOP)) {
    console.log(`${row.size.toFixed(1).padStart(8)} ${row.count.toFixed(2).padStart(8)}  ${row.key}`);
  }
  console.log(`${total.toFixed(1).padStart(8)} in all (self sizes, every row)`);
} finally {
  clients?.send({ cmd: 'close' });
  server.send({ cmd: 'exit' });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  clients?.proc.kill('SIGKILL');
  server.proc.kill('SIGKILL');
  await database.close();
}
