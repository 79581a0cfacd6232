// The gateway as the benches run it: `src/main.ts` (what `npm start` runs),
// production settings, its own process. With BENCH_SHOW_SQL=1 it prints each
// statement the pool runs to stderr (how bench/servers/bare-*.ts were made to
// do the same work).
import pg from 'pg';

if (process.env.BENCH_SHOW_SQL === '1') {
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; name?: string };
    const text = typeof first === 'string' ? first : first?.text;
    if (text) process.stderr.write(`SQL ${text.replace(/\s+/g, ' ')}\n`);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
}
await import('../../src/main.ts');
