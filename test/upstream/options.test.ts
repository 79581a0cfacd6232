// Environment parsing: defaults, every accepted form, and errors that name
// the variable. Also the pure retry helpers.
import { describe, expect, it } from 'vitest';
import { MODELS as SIMULATOR_MODELS } from '../../src/simulator/contract.ts';
import { normaliseLatency, parseSimulatorEnv, SIMULATOR_ENV_DOCS } from '../../src/simulator/options.ts';
import { mayTaskExistUpstream, UpstreamAuthError, UpstreamOutageError } from '../../src/upstream/errors.ts';
import { DEFAULT_UPSTREAM_URL, parseUpstreamEnv, UPSTREAM_ENV_DOCS } from '../../src/upstream/options.ts';
import { backoffDelay, DEFAULT_RETRY, parseRetryAfter } from '../../src/upstream/retry.ts';

describe('parseUpstreamEnv', () => {
  it('has the documented defaults', () => {
    expect(parseUpstreamEnv({})).toEqual({
      url: DEFAULT_UPSTREAM_URL,
      timeoutMs: 15_000,
      maxConcurrency: 64,
      connections: 32,
      retryDeadlineMs: 30_000,
    });
    expect(DEFAULT_UPSTREAM_URL).toBe('https://grok5imagine.com/api');
  });

  it('reads every variable, trims a trailing slash, and treats blanks as unset', () => {
    const env = {
      UPSTREAM_URL: 'http://127.0.0.1:4010/api/',
      UPSTREAM_API_KEY: 'k',
      UPSTREAM_TIMEOUT_MS: '500',
      UPSTREAM_MAX_CONCURRENCY: '3',
      UPSTREAM_CONNECTIONS: '2',
      UPSTREAM_RETRY_DEADLINE_MS: '0',
    };
    expect(parseUpstreamEnv(env)).toEqual({ url: 'http://127.0.0.1:4010/api', apiKey: 'k', timeoutMs: 500, maxConcurrency: 3, connections: 2, retryDeadlineMs: 0 });
    expect(parseUpstreamEnv({ UPSTREAM_API_KEY: '  ' }).apiKey).toBeUndefined();
  });

  it.each([
    ['UPSTREAM_URL', 'not a url'],
    ['UPSTREAM_URL', 'ftp://x/api'],
    ['UPSTREAM_TIMEOUT_MS', 'soon'],
    ['UPSTREAM_TIMEOUT_MS', '0'],
    ['UPSTREAM_MAX_CONCURRENCY', '1.5'],
    ['UPSTREAM_CONNECTIONS', '-1'],
    ['UPSTREAM_RETRY_DEADLINE_MS', 'x'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    expect(() => parseUpstreamEnv({ [name]: value })).toThrow(new RegExp(`^Invalid ${name}=`));
  });

  it('documents every variable', () => {
    expect(Object.keys(UPSTREAM_ENV_DOCS).sort()).toEqual(
      ['UPSTREAM_API_KEY', 'UPSTREAM_CONNECTIONS', 'UPSTREAM_MAX_CONCURRENCY', 'UPSTREAM_RETRY_DEADLINE_MS', 'UPSTREAM_TIMEOUT_MS', 'UPSTREAM_URL'],
    );
  });
});

describe('parseSimulatorEnv', () => {
  it('has the documented defaults', () => {
    const opts = parseSimulatorEnv({});
    expect(opts).toMatchObject({ host: '127.0.0.1', apiKey: 'sim-key', credits: 1_000_000, failureRate: 0, errorRate: 0, rateLimit: 0 });
    expect(opts.port).toBeUndefined();
    expect(opts.seed).toBeUndefined();
    expect(opts.latencyMs['grok-imagine/upscale']).toEqual({ minMs: 50, maxMs: 200 });
  });

  it('reads every variable', () => {
    const opts = parseSimulatorEnv({
      SIMULATOR_PORT: '4011',
      SIMULATOR_HOST: '0.0.0.0',
      SIMULATOR_API_KEY: 'k',
      SIMULATOR_CREDITS: '100',
      SIMULATOR_LATENCY_MS: '{"default":"10-20","grok-imagine/text-to-video":300}',
      SIMULATOR_FAILURE_RATE: '0.25',
      SIMULATOR_ERROR_RATE: '.1',
      SIMULATOR_RATE_LIMIT: '50',
      SIMULATOR_SEED: '7',
      SIMULATOR_PUBLIC_URL: 'http://sim.local:4010/',
    });
    expect(opts).toMatchObject({ port: 4011, host: '0.0.0.0', apiKey: 'k', credits: 100, failureRate: 0.25, errorRate: 0.1, rateLimit: 50, seed: 7, publicUrl: 'http://sim.local:4010' });
    expect(opts.latencyMs['grok-imagine/text-to-video']).toEqual({ minMs: 300, maxMs: 300 });
    expect(opts.latencyMs['grok-imagine/text-to-image']).toEqual({ minMs: 10, maxMs: 20 });
  });

  it.each([
    ['SIMULATOR_PORT', '70000'],
    ['SIMULATOR_CREDITS', 'lots'],
    ['SIMULATOR_LATENCY_MS', '200-100'],
    ['SIMULATOR_LATENCY_MS', 'fast'],
    ['SIMULATOR_LATENCY_MS', '{"grok-imagine/text-to-music":5}'],
    ['SIMULATOR_LATENCY_MS', '{not json'],
    ['SIMULATOR_FAILURE_RATE', '1.5'],
    ['SIMULATOR_ERROR_RATE', '-0.1'],
    ['SIMULATOR_RATE_LIMIT', 'many'],
    ['SIMULATOR_SEED', 'abc'],
    ['SIMULATOR_PUBLIC_URL', 'nope'],
  ])('rejects %s=%s, naming the variable', (name, value) => {
    expect(() => parseSimulatorEnv({ [name]: value })).toThrow(new RegExp(`^Invalid ${name}=`));
  });

  it('documents every variable and accepts every latency form from code', () => {
    expect(Object.keys(SIMULATOR_ENV_DOCS)).toEqual(expect.arrayContaining(['SIMULATOR_PORT', 'SIMULATOR_API_KEY', 'SIMULATOR_CREDITS', 'SIMULATOR_LATENCY_MS', 'SIMULATOR_FAILURE_RATE', 'SIMULATOR_ERROR_RATE', 'SIMULATOR_RATE_LIMIT', 'SIMULATOR_SEED']));
    for (const spec of [5, '5', '5-5', { minMs: 5, maxMs: 5 }, { default: 5 }]) {
      expect(Object.values(normaliseLatency(spec))).toEqual(SIMULATOR_MODELS.map(() => ({ minMs: 5, maxMs: 5 })));
    }
  });
});

describe('retry helpers', () => {
  it('grows backoff exponentially with jitter, capped', () => {
    const opts = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1_000);
    expect(backoffDelay(10, opts, () => 0)).toBe(500);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2025-06-14T05:21:11Z');
    expect(parseRetryAfter('3', now)).toBe(3);
    expect(parseRetryAfter('Sat, 14 Jun 2025 05:21:21 GMT', now)).toBe(10);
    expect(parseRetryAfter('Sat, 14 Jun 2025 05:21:01 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('says whether a failed generate may have left a task upstream', () => {
    expect(mayTaskExistUpstream(new UpstreamAuthError('x', { operation: 'generate' }))).toBe(false);
    const timedOut = new UpstreamOutageError('x', { operation: 'generate', reason: 'timeout', mayHaveReachedUpstream: true });
    expect(mayTaskExistUpstream(timedOut)).toBe(true);
    expect(mayTaskExistUpstream(new UpstreamOutageError('x', { operation: 'status', reason: 'timeout', mayHaveReachedUpstream: true }))).toBe(false);
    expect(mayTaskExistUpstream(new TypeError('bug'))).toBe(true);
    expect(timedOut).toBeInstanceOf(Error);
    expect(timedOut.name).toBe('UpstreamOutageError');
  });
});
