// A load generator for the benches, run as its own process so that its HTTP
// client work does not share the server's event loop. Reads one JSON job from
// argv: POSTs `bodies` (cycled) to `url` with `concurrency` requests in
// flight for `seconds` (or, with `requests`, exactly that many requests),
// and prints one JSON line: how many answered 200 with `expect` in the body,
// how many did not (with the first such body), and the seconds taken.
// `headerSets`, if given, are cycled per request over `headers` (request i
// sends set i mod n: e.g. one Authorization header per tenant).
import { Agent, request } from 'undici';
import type { LoadJob as Job } from './procs.ts';


const job = JSON.parse(process.argv[2]!) as Job;
const dispatcher = new Agent({ connections: job.concurrency, pipelining: 1 });
const base = { 'content-type': 'application/json', ...job.headers };
const headerSets = job.headerSets?.length ? job.headerSets.map((set) => ({ ...base, ...set })) : [base];
let next = 0;
let ok = 0;
let bad = 0;
let firstBad: string | undefined;
const started = performance.now();
const until = started + (job.seconds ?? 0) * 1000;
const more = job.requests === undefined ? () => performance.now() < until : () => next < job.requests!;
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (more()) {
      const i = next++;
      const headers = headerSets[i % headerSets.length];
      const res = await request(job.url, { method: 'POST', dispatcher, headers, body: job.bodies[i % job.bodies.length] });
      const text = await res.body.text();
      if (res.statusCode === 200 && text.includes(job.expect)) ok++;
      else {
        bad++;
        firstBad ??= `${res.statusCode} ${text.slice(0, 300)}`;
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ ok, bad, firstBad, seconds }));
await dispatcher.close();
