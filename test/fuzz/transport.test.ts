// Property-based fuzzing of what surrounds the operations (issue #10), over
// real HTTP against a production gateway: whole documents (deep nesting of
// fields, braces, literals, fragments; too many aliases, directives, tokens;
// token soup; real documents with a nasty character put in), request bodies,
// methods, content types and Accept headers, and the three subscriptions
// started over SSE with fuzzed arguments while the tenants' tasks and
// balances change. Every answer must be data or a typed error, never a 5xx;
// no tenant may see anything of another; the ledger must be sound afterwards.
//
// FUZZ_RUNS=<n> runs every property n times; FUZZ_SEED=<seed> replays a run.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/ledger/verify.ts';
import {
  buildOperation,
  callOf,
  documentArg,
  garbageAuthorization,
  bodyArg,
  bodyText,
  rawRequestArg,
  SUBSCRIPTIONS,
  type OperationSpec,
} from './arbitraries.ts';
import {
  ADMIN_TOKEN,
  authorizationOf,
  buildWorld,
  checkAnswer,
  checkResult,
  checkSse,
  fcParams,
  isRightPrincipal,
  otherTenant,
  printStats,
  SEED,
  send,
  settle,
  startSse,
  stopWorld,
  tenantOf,
  type Principal,
  type World,
} from './harness.ts';

let world: World;
beforeAll(async () => {
  console.log(`fuzz/transport: FUZZ_SEED=${SEED}`);
  world = await buildWorld();
}, 60_000);
afterAll(async () => {
  printStats('fuzz/transport');
  await stopWorld(world);
});

/** Anyone: an admin, either tenant, no one, a revoked key, garbage. */
function anyone(w: World): fc.Arbitrary<Principal> {
  return fc.oneof(
    fc.constantFrom('admin', 'tenantA', 'tenantB', 'none', 'revoked').map((kind) => ({ kind, authorization: authorizationOf(w, kind) }) as Principal),
    garbageAuthorization(w).map((authorization): Principal => ({ kind: 'garbage', authorization })),
  );
}

describe('whole documents and requests, fuzzed', () => {
  it('documents: deep, wide, broken or garbage; with any variables', async () => {
    await fc.assert(
      fc.asyncProperty(anyone(world), bodyArg(world), async (principal, body) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (principal.authorization !== undefined) headers.authorization = principal.authorization;
        const answer = await send(world, { body: bodyText(body), headers });
        checkAnswer(world, { label: 'a fuzzed document', principal, sent: body, statsGroup: 'documents' }, answer);
      }),
      fcParams(80),
    );
  }, 120_000);

  it('documents over GET', async () => {
    await fc.assert(
      fc.asyncProperty(anyone(world), documentArg(world), async (principal, query) => {
        // A URL stays under 8 KB, as proxies require (past 16 KB of headers, node:http itself answers 431).
        let usable = query.replace(/[\ud800-\udfff]/g, '');
        while (encodeURIComponent(usable).length > 8000) usable = usable.slice(0, Math.floor(usable.length / 2));
        const headers: Record<string, string> = {};
        if (principal.authorization !== undefined) headers.authorization = principal.authorization;
        const answer = await send(world, { method: 'GET', headers, search: `?query=${encodeURIComponent(usable)}` });
        checkAnswer(world, { label: 'a fuzzed document over GET', principal, sent: { query: usable }, statsGroup: 'GET' }, answer);
      }),
      fcParams(30),
    );
  }, 120_000);

  it('requests: other methods, content types, bodies and Accept headers', async () => {
    await fc.assert(
      fc.asyncProperty(rawRequestArg(world), async (request) => {
        const answer = await send(world, request);
        const shown = typeof request.body === 'string' || request.body === undefined ? request.body : `bytes ${Buffer.from(request.body).toString('hex')}`;
        const sent = { method: request.method, headers: request.headers, search: request.search, body: shown };
        const principal: Principal = {
          kind: request.headers.authorization === `Bearer ${world.A.key}` ? 'tenantA' : request.headers.authorization === `Bearer ${ADMIN_TOKEN}` ? 'admin' : 'garbage',
          authorization: request.headers.authorization,
        };
        const label = `${request.method} /graphql${request.search ?? ''}`;
        if (answer.status >= 500) checkAnswer(world, { label, principal, sent }, answer);
        // An event stream (asked for) holds results in its events; anything else must be a GraphQL result in JSON.
        if (answer.contentType.includes('text/event-stream')) {
          for (const block of answer.text.split(/\n\n/)) {
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (block.startsWith('event: next') && data) checkResult(world, { label, principal, sent }, answer, JSON.parse(data.slice(6)));
          }
          return;
        }
        if (answer.contentType.includes('multipart/mixed')) return;
        // A GraphQL-over-HTTP request (GET, or POST of application/json) from a client that takes
        // JSON is answered with a GraphQL result; another method or media type, or a client that
        // takes no JSON (Accept: text/html), may get a bare HTTP refusal (405, 406, 415), but never a
        // 5xx, and any JSON it gets must still be a proper result.
        const takesJson = !request.headers.accept || /json|\*\/\*|text\/event-stream/.test(request.headers.accept);
        const graphqlRequest = request.method === 'GET' || (request.method === 'POST' && /^application\/json/.test(request.headers['content-type'] ?? ''));
        if (graphqlRequest && takesJson) {
          checkAnswer(world, { label, principal, sent, statsGroup: 'raw' }, answer);
        } else if (answer.json !== undefined && answer.status !== 204) {
          checkAnswer(world, { label, principal, sent, statsGroup: 'raw' }, answer);
        }
      }),
      fcParams(60),
    );
  }, 120_000);
});

describe('subscriptions over SSE, fuzzed, while tasks and balances change', () => {
  /** Makes something happen: a top-up of the caller, a task of the other tenant (with its marker), a task of the caller. */
  async function poke(w: World, principal: Principal, what: 'none' | 'own' | 'other' | 'both'): Promise<void> {
    const caller = tenantOf(w, principal.kind) ?? w.A;
    const other = otherTenant(w, caller);
    const jobs: Promise<unknown>[] = [];
    if (what === 'own' || what === 'both') {
      jobs.push(
        w.gw.gql(`mutation($id: ID!, $k: String!) { topUpCredits(input: { tenantId: $id, amount: 1, idempotencyKey: $k }) { __typename } }`, { id: caller.id, k: randomUUID() }),
        w.gw.gql(`mutation { textToImage(input: { prompt: "own poke" }) { __typename } }`, {}, caller.key),
      );
    }
    if (what === 'other' || what === 'both') {
      jobs.push(
        w.gw.gql(`mutation($p: String!) { textToImage(input: { prompt: $p, callbackUrl: "${other.callbackUrl}" }) { __typename } }`, { p: `${other.marker} poke` }, other.key),
        w.gw.gql(`mutation($id: ID!, $k: String!) { topUpCredits(input: { tenantId: $id, amount: 1, idempotencyKey: $k }) { __typename } }`, { id: other.id, k: randomUUID() }),
      );
    }
    await Promise.all(jobs);
  }

  const subscription = (spec: OperationSpec) =>
    fc.constantFrom('typed' as const, 'any' as const).chain((mode) =>
      fc.record({
        call: callOf(world, spec, mode, 'any'),
        poke: fc.constantFrom('none' as const, 'none' as const, 'own' as const, 'other' as const, 'both' as const),
      }),
    );

  for (const spec of SUBSCRIPTIONS) {
    it(`subscription ${spec.field}: fuzzed arguments, any principal`, async () => {
      await fc.assert(
        fc.asyncProperty(subscription(spec), async ({ call, poke: what }) => {
          const { principal, values, inline } = call;
          const op = buildOperation(spec, values, inline);
          // A refusal must come at once; a live feed may stay silent.
          const waitMs = isRightPrincipal(principal.kind, spec.scope) ? 200 : 3000;
          const answer = await startSse(world, principal, op, waitMs, () => poke(world, principal, what));
          checkSse(
            world,
            { label: `subscription ${spec.field} over SSE${inline ? ' (arguments inline)' : ''}`, principal, sent: op, field: spec.field, scope: spec.scope },
            answer,
          );
        }),
        fcParams(spec.field === 'taskUpdated' ? 25 : 15),
      );
    }, 120_000);
  }

  it('covers every subscription of schema.graphql', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    const body = /type Subscription \{([\s\S]*?)\n\}/.exec(text)?.[1] ?? '';
    const names = [...body.matchAll(/^ {2}(\w+)[(:]/gm)].map((m) => m[1]);
    expect(SUBSCRIPTIONS.map((s) => s.field).sort()).toEqual(names.sort());
  });
});

describe('afterwards', () => {
  it('the ledger is sound, at once and once every task has ended', async () => {
    expect(await verifyLedger(world.gw.deps.db)).toEqual([]);
    await settle(world);
    expect(await verifyLedger(world.gw.deps.db)).toEqual([]);
  });
});
