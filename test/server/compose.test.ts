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

  it('names only environment variables the gateway reads, with values it accepts', () => {
    const env = file.services.gateway!.environment!;
    for (const name of Object.keys(env)) expect(ENV_DOCS, name).toHaveProperty(name);
    // Substitute ${VAR:-default} with its default, as compose would.
    const resolved = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]),
    );
    const config = loadConfig(resolved);
    expect(config.databaseUrl).toContain('@postgres:5432/');
    expect(config.redisUrl).toBe('redis://redis:6379');
    expect(config.host).toBe('0.0.0.0');
  });
});

describe('README', () => {
  it('documents every environment variable', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const name of Object.keys(ENV_DOCS)) expect(readme, name).toContain(`\`${name}\``);
  });
});
