// The SSRF guard, for every URL the gateway fetches or posts to on a
// tenant's behalf: one import for callers. The pieces live in:
//   ip-classify.ts    what kind of address an IP is
//   url-guard.ts      the policy, URL validation, DNS checks (ValidationError)
//   guarded-fetch.ts  the HTTP client that re-checks at connect time and on redirects
export { type AddressClass, classifyAddress } from './ip-classify.ts';
export {
  assertPublicUrl,
  checkUrlSyntax,
  DEFAULT_SSRF_POLICY,
  defaultLookup,
  isHostAllowed,
  type LookupFn,
  MAX_URL_LENGTH,
  parseAllowHosts,
  type ResolvedAddress,
  SsrfBlockedError,
  type SsrfPolicy,
} from './url-guard.ts';
export { guardedFetch, type GuardedFetchInit, type GuardedResponse } from './guarded-fetch.ts';
