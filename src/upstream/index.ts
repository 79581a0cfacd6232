// The upstream client's public surface; the rest of the gateway imports from here.
// Starting the in-process simulator when no key is configured is app.ts's (startUpstream).
export { createUpstreamClient, type GenerateOptions, type UpstreamClient, type UpstreamClientOptions } from './client.ts';
export * from './errors.ts';
export * from './models.ts';
export { DEFAULT_UPSTREAM_URL, parseUpstreamEnv, UPSTREAM_ENV_DOCS, type UpstreamEnv } from './options.ts';
export { DEFAULT_RETRY, type RetryOptions } from './retry.ts';
export {
  UPSTREAM_STATUSES,
  type UpstreamGenerateResult,
  type UpstreamStatus,
  type UpstreamTaskRecord,
} from './wire.ts';
