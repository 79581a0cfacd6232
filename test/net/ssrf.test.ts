import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import {
  type AddressClass,
  assertPublicUrl,
  checkUrlSyntax,
  classifyAddress,
  guardedFetch,
  type LookupFn,
  parseAllowHosts,
  SsrfBlockedError,
  type SsrfPolicy,
} from '../../src/net/ssrf.ts';

const NONE: SsrfPolicy = { allowHosts: [] };

/** Fake DNS: a fixed table, no network. */
function fakeDns(table: Record<string, string[]>): LookupFn {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('classifyAddress', () => {
  const table: [string, AddressClass][] = [
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fd00:ec2::254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:81b::200e', 'public'],
    ['not-an-ip', 'reserved'],
  ];
  it.each(table)('%s is %s', (ip, kind) => {
    expect(classifyAddress(ip)).toBe(kind);
  });
});

describe('checkUrlSyntax and assertPublicUrl', () => {
  const dns = fakeDns({
    'example.com': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'internal.example': ['10.1.2.3'],
    'mixed.example': ['93.184.215.14', '127.0.0.1'],
    'metadata.example': ['fd00:ec2::254'],
    localhost: ['127.0.0.1', '::1'],
  });

  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://localhost/', 'loopback'],
    ['http://api.localhost:8080/', 'loopback'],
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://2130706433/', 'loopback'], // decimal 127.0.0.1
    ['http://0x7f.1/', 'loopback'],
    ['http://0.0.0.0:4000/', 'unspecified'],
    ['ftp://example.com/', 'http or https'],
    ['file:///etc/passwd', 'http or https'],
    ['not a url', 'absolute'],
    ['https://user:pw@example.com/', 'credentials'],
    [`https://example.com/${'a'.repeat(2048)}`, '2048'],
    ['http://internal.example/hook', 'resolves to a private address'],
    ['http://mixed.example/hook', 'resolves to a loopback address'],
    ['http://metadata.example/', 'resolves to a metadata address'],
    ['http://nowhere.example/', 'does not resolve'],
  ])('rejects %s (%s)', async (url, message) => {
    const error = await assertPublicUrl(url, 'callbackUrl', NONE, dns).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ code: 'VALIDATION', field: 'callbackUrl' });
    expect((error as Error).message).toContain(message);
  });

  it('accepts public URLs', async () => {
    expect((await assertPublicUrl('https://example.com/hook?x=1', 'callbackUrl', NONE, dns)).host).toBe('example.com');
    expect(checkUrlSyntax('https://8.8.8.8/hook', 'callbackUrl').hostname).toBe('8.8.8.8');
  });

  it('accepts allow-listed hosts, with or without a port', async () => {
    const policy: SsrfPolicy = { allowHosts: parseAllowHosts('localhost, 127.0.0.1:4010 [::1]:8080 internal.example') };
    expect(policy.allowHosts).toEqual(['localhost', '127.0.0.1:4010', '[::1]:8080', 'internal.example']);
    for (const url of ['http://localhost/', 'http://localhost:3000/x', 'http://127.0.0.1:4010/', 'http://[::1]:8080/', 'http://internal.example/']) {
      await expect(assertPublicUrl(url, 'callbackUrl', policy, dns)).resolves.toBeInstanceOf(URL);
    }
    await expect(assertPublicUrl('http://127.0.0.1:4011/', 'callbackUrl', policy, dns)).rejects.toThrow(/loopback/);
    await expect(assertPublicUrl('http://[::1]/', 'callbackUrl', policy, dns)).rejects.toThrow(/loopback/);
  });
});

describe('guardedFetch', () => {
  let a: Server;
  let b: Server;
  let portA = 0;
  let portB = 0;
  const seenB: string[] = [];
  const seenA: { method: string; url: string; body: string; contentType: string | undefined }[] = [];

  function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Server> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => handler(req, res, body));
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
  }

  beforeAll(async () => {
    b = await listen((req, res) => {
      seenB.push(req.url ?? '');
      res.end('B');
    });
    portB = (b.address() as AddressInfo).port;
    a = await listen((req, res, body) => {
      seenA.push({ method: req.method ?? '', url: req.url ?? '', body, contentType: req.headers['content-type'] });
      const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
      const code = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? 302);
      if (to) res.writeHead(code, { location: to }).end();
      else res.writeHead(201).end('x'.repeat(5000));
    });
    portA = (a.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => a.close(r));
    await new Promise((r) => b.close(r));
  });

  const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 2000 };

  it('posts to an allow-listed host and returns the status and the first KiB', async () => {
    const res = await guardedFetch(`http://127.0.0.1:${portA}/hook`, post, { allowHosts: [`127.0.0.1:${portA}`] });
    expect(res.status).toBe(201);
    expect(res.bodyText).toHaveLength(1024);
    expect(seenA.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}' });
  });

  it('refuses a loopback target that is not allow-listed, before connecting', async () => {
    await expect(guardedFetch(`http://127.0.0.1:${portB}/`, post, NONE)).rejects.toBeInstanceOf(SsrfBlockedError);
    expect(seenB).toHaveLength(0);
  });

  it('refuses a redirect from an allowed host:port to another 127.0.0.1 port', async () => {
    const policy = { allowHosts: [`127.0.0.1:${portA}`] };
    const url = `http://127.0.0.1:${portA}/r?code=307&to=${encodeURIComponent(`http://127.0.0.1:${portB}/secret`)}`;
    const error = await guardedFetch(url, post, policy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SsrfBlockedError);
    expect((error as Error).message).toMatch(/loopback/);
    expect(seenB).toHaveLength(0);
  });

  it('refuses a redirect to a name that resolves to a private address (checked at connect time)', async () => {
    const dns = fakeDns({ 'evil.example': ['127.0.0.1'] });
    const policy = { allowHosts: [`127.0.0.1:${portA}`] };
    const url = `http://127.0.0.1:${portA}/r?to=${encodeURIComponent(`http://evil.example:${portB}/`)}`;
    await expect(guardedFetch(url, post, policy, dns)).rejects.toBeInstanceOf(SsrfBlockedError);
    expect(seenB).toHaveLength(0);
  });

  it('defeats DNS rebinding: public when validated, loopback when connecting', async () => {
    let calls = 0;
    const rebinding: LookupFn = async () => [{ address: calls++ === 0 ? '93.184.215.14' : '127.0.0.1', family: 4 }];
    const url = `http://rebind.example:${portB}/`;
    await expect(assertPublicUrl(url, 'callbackUrl', NONE, rebinding)).resolves.toBeInstanceOf(URL);
    await expect(guardedFetch(url, post, NONE, rebinding)).rejects.toBeInstanceOf(SsrfBlockedError);
    expect(seenB).toHaveLength(0);
  });

  it('follows allowed redirects: 307 keeps POST and body, 303 becomes GET', async () => {
    const policy = { allowHosts: [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`] };
    const r307 = await guardedFetch(`http://127.0.0.1:${portA}/r?code=307&to=/final`, post, policy);
    expect(r307).toMatchObject({ status: 201, url: `http://127.0.0.1:${portA}/final` });
    expect(seenA.at(-1)).toMatchObject({ method: 'POST', url: '/final', body: '{"a":1}' });
    await guardedFetch(`http://127.0.0.1:${portA}/r?code=303&to=/after`, post, policy);
    expect(seenA.at(-1)).toMatchObject({ method: 'GET', url: '/after', body: '', contentType: undefined });
    const cross = await guardedFetch(`http://127.0.0.1:${portA}/r?code=308&to=http://127.0.0.1:${portB}/ok`, post, policy);
    expect(cross).toMatchObject({ status: 200, bodyText: 'B' });
    seenB.length = 0;
  });

  it('stops after three redirects', async () => {
    const policy = { allowHosts: [`127.0.0.1:${portA}`] };
    let url = '/final';
    for (let i = 0; i < 4; i++) url = `/r?code=302&to=${encodeURIComponent(url)}`;
    await expect(guardedFetch(`http://127.0.0.1:${portA}${url}`, post, policy)).rejects.toThrow(/too many redirects/);
  });
});
