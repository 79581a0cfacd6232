// The client's address, for limits per address (failed authentication): the
// socket's peer, or, behind proxies named in TRUST_PROXY, the address they
// forwarded (X-Forwarded-For), as Express computes it, with Express's own
// proxy-addr.
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

export type AddressOf = (req: IncomingMessage) => string;

export function clientAddressResolver(trustProxy: string[]): AddressOf {
  const trust = proxyaddr.compile(trustProxy);
  return (req) => {
    // A socket already gone has no address; such a request cannot be answered anyway.
    if (!req.socket.remoteAddress) return 'unknown';
    return proxyaddr(req, trust);
  };
}
