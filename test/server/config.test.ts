import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('has working defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, databaseUrl: null, redisUrl: null, env: 'development', seedDemoTenant: true });
  });

  it.each([
    ['PORT', 'eighty'],
    ['DATABASE_URL', 'not a url'],
    ['ADMIN_TOKEN', 'short'],
    ['NODE_ENV', 'staging'],
    ['MAX_BODY_BYTES', '-1'],
  ])('a bad %s fails with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', ADMIN_TOKEN: '' })).toMatchObject({ databaseUrl: null, adminToken: null });
  });
});
