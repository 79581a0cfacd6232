import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ENV_DOCS, loadConfig } from '../../src/config.ts';

// No Docker engine here: the compose file is checked by parsing it.
const service = z.object({
  image: z.string().optional(),
  build: z.union([z.string(), z.object({ context: z.string() })]).optional(),
  environment: z.record(z.string(), z.string()).optional(),
  healthcheck: z.object({ test: z.array(z.string()) }),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  ports: z.array(z.union([z.string(), z.number(), z.object({ target: z.number(), published: z.union([z.string(), z.number()]).optional() })])).optional(),
  container_name: z.string().optional(),
  volumes: z.array(z.string()).optional(),
  stop_grace_period: z.string().optional(),
});
const compose = z.object({ services: z.record(z.string(), service) });

describe('docker-compose.yml', () => {
  const file = compose.parse(parse(readFileSync('docker-compose.yml', 'utf8')));

  it('has postgres, redis and the gateway, each with a health check', () => {
    expect(Object.keys(file.services).sort()).toEqual(['gateway', 'postgres', 'redis']);
    for (const s of Object.values(file.services)) expect(s.healthcheck.test.length).toBeGreaterThan(0);
  });

  it('builds the gateway from the Dockerfile in the repo and waits for healthy dependencies', () => {
    const gateway = file.services.gateway!;
    expect(gateway.build).toBe('.');
    expect(existsSync('Dockerfile')).toBe(true);
    expect(gateway.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
    });
  });

  /** The gateway's environment as compose resolves it: `${VAR:-default}` from `given` or the default, `${VAR:?msg}` from `given` or refused. */
  function resolve(given: Record<string, string>): Record<string, string> {
    const env = file.services.gateway!.environment!;
    return Object.fromEntries(
      Object.entries(env).map(([k, v]) => [
        k,
        v
          .replace(/\$\{([A-Z_]+):-([^}]*)\}/g, (_all, name: string, fallback: string) => given[name] ?? fallback)
          .replace(/\$\{([A-Z_]+):\?([^}]*)\}/g, (_all, name: string, message: string) => {
            const value = given[name];
            if (value === undefined || value === '') throw new Error(`compose refuses: ${name}: ${message}`);
            return value;
          }),
      ]),
    );
  }

  it('names only environment variables the gateway reads, with values it accepts', () => {
    const env = file.services.gateway!.environment!;
    for (const name of Object.keys(env)) expect(ENV_DOCS, name).toHaveProperty(name);
    const config = loadConfig(resolve({ ADMIN_TOKEN: 'a'.repeat(64), UPSTREAM_API_KEY: 'key' }));
    expect(config.env).toBe('production');
    expect(config.databaseUrl).toContain('@postgres:5432/');
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.host).toBe('0.0.0.0');
    expect(config.useSimulator).toBe(false);
  });

  it('refuses to start without ADMIN_TOKEN, and has no default one', () => {
    expect(file.services.gateway!.environment!['ADMIN_TOKEN']).toMatch(/^\$\{ADMIN_TOKEN:\?.+\}$/);
    expect(() => resolve({ UPSTREAM_API_KEY: 'key' })).toThrow(/compose refuses: ADMIN_TOKEN/);
  });

  it('runs the simulator only when asked for, and refuses to start with neither a key nor that', () => {
    expect(() => loadConfig(resolve({ ADMIN_TOKEN: 'a'.repeat(64) }))).toThrow(/UPSTREAM_API_KEY: required in production/);
    expect(loadConfig(resolve({ ADMIN_TOKEN: 'a'.repeat(64), UPSTREAM_SIMULATOR: 'true' })).useSimulator).toBe(true);
  });

  it('publishes the gateway on no fixed host port and names no container, so `--scale gateway=N` can start N', () => {
    const gateway = file.services.gateway!;
    expect(gateway.container_name).toBeUndefined();
    expect(gateway.ports?.length).toBeGreaterThan(0);
    for (const port of gateway.ports!) {
      // "4000" (container port only) or { target: 4000 } with no published port.
      if (typeof port === 'object') expect(port.published).toBeUndefined();
      else expect(String(port)).toMatch(/^\d+$/);
    }
  });

  it('keeps the GraphiQL its own comment says to open, though it runs in production mode', () => {
    const given = { ADMIN_TOKEN: 'a'.repeat(64), UPSTREAM_API_KEY: 'key' };
    expect(loadConfig(resolve(given)).graphql.graphiql).toBe(true);
    expect(loadConfig(resolve({ ...given, GRAPHIQL: 'false' })).graphql.graphiql).toBe(false);
  });

  it('gives a stopping gateway longer than its own shutdown timeout before Docker kills it', () => {
    const config = loadConfig(resolve({ ADMIN_TOKEN: 'a'.repeat(64), UPSTREAM_API_KEY: 'key' }));
    const grace = /^(\d+)s$/.exec(file.services.gateway!.stop_grace_period ?? '');
    expect(grace, 'stop_grace_period in seconds').not.toBeNull();
    expect(Number(grace![1]) * 1000).toBeGreaterThan(config.shutdownTimeoutMs);
  });

  it('keeps DATA_DIR (the simulator\'s result files) on a volume, so results outlive the container', () => {
    const gateway = file.services.gateway!;
    const config = loadConfig(resolve({ ADMIN_TOKEN: 'a'.repeat(64), UPSTREAM_SIMULATOR: 'true' }));
    expect(gateway.volumes?.some((v) => v.endsWith(`:${config.dataDir}`))).toBe(true);
  });
});

describe('README', () => {
  it('documents every environment variable', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const name of Object.keys(ENV_DOCS)) expect(readme, name).toContain(`\`${name}\``);
  });
});
