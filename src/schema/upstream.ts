import type { HealthView } from '../tasks/upstream-health.ts';
import { builder } from './builder.ts';

// upstreamHealth: what the gateway knows of upstream, for admins.

const UpstreamStateEnum = builder.enumType('UpstreamState', {
  values: {
    OK: { description: 'Upstream answers as it should' },
    OUT_OF_CREDITS: { description: "Upstream answered 402: the reseller's upstream credits are gone. Generations are refused until a probe succeeds" },
    UNAUTHORIZED: { description: 'Upstream answered 401: UPSTREAM_API_KEY is wrong. Generations are refused until a probe succeeds' },
    RATE_LIMITED: { description: 'Upstream answered 429 after retries; generations still go through' },
    DOWN: { description: 'Upstream failed (5xx, timeouts, unreadable answers) after retries; generations still go through' },
  } as const,
});

const UpstreamHealthRef = builder.objectRef<HealthView>('UpstreamHealth').implement({
  fields: (t) => ({
    state: t.field({ type: UpstreamStateEnum, resolve: (h) => h.state }),
    since: t.expose('since', { type: 'DateTime', description: 'When upstream entered this state' }),
    lastError: t.exposeString('lastError', { nullable: true, description: 'The failure that led here' }),
    probeAt: t.expose('probeAt', {
      type: 'DateTime',
      nullable: true,
      description: 'While generations are refused: when the next one is let through as the probe',
    }),
  }),
});

builder.queryField('upstreamHealth', (t) =>
  t.field({
    type: UpstreamHealthRef,
    description: "Upstream's state as this gateway sees it, shared by every process; the breaker on generations",
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.tasks.health.current(),
  }),
);
