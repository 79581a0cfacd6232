// Load generator for bench:generate, run as its own process so that its HTTP
// client work does not share the gateway's event loop. Prints one JSON line.
import { Agent, request } from 'undici';

const [url, key, totalArg, concurrencyArg] = process.argv.slice(2);
const total = Number(totalArg);
const concurrency = Number(concurrencyArg);
const dispatcher = new Agent({ connections: concurrency });
let next = 0;
let accepted = 0;
let refused = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) {
      const i = next++;
      const res = await request(url!, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({
          query: 'mutation($p: String!) { textToImage(input: { prompt: $p }) { __typename } }',
          variables: { p: `bench ${i}` },
        }),
      });
      const body = (await res.body.json()) as { data?: { textToImage?: { __typename: string } } };
      if (body.data?.textToImage?.__typename === 'MutationTextToImageSuccess') accepted++;
      else refused++;
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ accepted, refused, seconds }));
await dispatcher.close();
