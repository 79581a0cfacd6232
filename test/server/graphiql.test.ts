// GraphiQL at /graphql (issue #12): the page works offline, with nothing
// from another host; it presets an editable Authorization header and example
// operations that validate against the schema and run as written; GRAPHIQL
// turns it on or off whatever NODE_ENV says. One test drives it in a real
// headless Chromium (Debian's, never a downloaded one) with every other host
// blocked.
import { existsSync, mkdirSync } from 'node:fs';
import { getOperationAST, parse, validate, type OperationDefinitionNode } from 'graphql';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { schema } from '../../src/schema/index.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { sseNext } from '../helpers/transports.ts';

/** What a browser sends when it opens the GraphQL URL. */
const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

/** Hosts pages usually load GraphiQL, fonts or workers from; none may appear anywhere. */
const CDN = /unpkg\.com|jsdelivr|esm\.sh|cdnjs|skypack|fonts\.googleapis|fonts\.gstatic|raw\.githubusercontent/i;

async function openPage(gw: TestGateway): Promise<Response> {
  return fetch(gw.graphqlUrl, { headers: BROWSER });
}

/** The page's HTML without the bodies of its inline scripts and styles (their tags stay, src and all). */
function markupOnly(html: string): string {
  return html
    .replace(/<script\b[^>]*>[\s\S]*?<\/script>/gi, (tag) => tag.slice(0, tag.indexOf('>') + 1))
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, (tag) => tag.slice(0, tag.indexOf('>') + 1));
}

function inline(html: string, element: 'script' | 'style'): string[] {
  const found = html.matchAll(new RegExp(`<${element}\\b[^>]*>([\\s\\S]*?)</${element}>`, 'gi'));
  return [...found].map((match) => match[1]!);
}

const all = (text: string, pattern: RegExp): string[] => [...text.matchAll(pattern)].map((m) => m.slice(1).find((g) => g !== undefined)!);

/** URLs the browser fetches because of markup: src, href and the like. */
const markupUrls = (html: string) =>
  all(markupOnly(html), /\s(?:src|href|srcset|poster|data|action)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi);
/** URLs a stylesheet loads: fonts, images, imports. */
const cssUrls = (css: string) =>
  all(css, /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)|@import\s+(?:"([^"]*)"|'([^']*)')/gi);
/**
 * Absolute URLs a script hands to what fetches (fetch, import(), workers,
 * importScripts) or sets as an element's src, written as string literals;
 * quotes may be JSON-escaped, as in the worker sources inlined in the page.
 */
const scriptUrls = (js: string) => [
  ...all(js, /\b(?:fetch|import|importScripts|Worker|SharedWorker)\s*\(\s*\\?["'`]((?:https?:)?\/\/[^"'`\\]*)/g),
  ...all(js, /\bsrc\s*[:=]\s*\\?["'`]((?:https?:)?\/\/[^"'`\\]*)/g),
];

/** The options object the page hands GraphiQL (render-graphiql writes it as JSON after the root element). */
function pageOptions(html: string): { headers: string; defaultHeaders: string; defaultQuery: string; subscriptionsProtocol: string } {
  const marker = "querySelector('#root'),";
  const start = html.lastIndexOf(marker);
  const end = html.lastIndexOf('</script>');
  expect(start).toBeGreaterThan(0);
  const json = html.slice(start + marker.length, end).trim().replace(/\)\s*;?$/, '').trim().replace(/,$/, '');
  return JSON.parse(json) as ReturnType<typeof pageOptions>;
}

let gw: TestGateway;
let html: string;
beforeAll(async () => {
  // NODE_ENV=test: GraphiQL's default is on outside production.
  gw = await startTestGateway();
  const res = await openPage(gw);
  expect(res.status).toBe(200);
  html = await res.text();
});
afterAll(async () => {
  await gw?.stop();
});

describe('the GraphiQL page', () => {
  it('answers a browser at /graphql with GraphiQL', async () => {
    const res = await openPage(gw);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html).toContain('<div id="root">');
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL(');
    expect(html).toContain('<title>Grok Imagine gateway</title>');
  });

  it('references no other host: every script, style, font, image and worker is in the page or on the gateway', async () => {
    const origin = new URL(gw.graphqlUrl).origin;
    const seen = new Set<string>();
    // Everything the page needs, followed recursively: data: and blob: URLs
    // carry their content; anything else must be the gateway's and answer 200.
    const follow = async (base: string, refs: string[]) => {
      for (const ref of refs) {
        const url = new URL(ref, base);
        if (url.protocol === 'data:' || url.protocol === 'blob:') continue;
        expect(url.origin, `${ref} (from ${base})`).toBe(origin);
        if (seen.has(url.href)) continue;
        seen.add(url.href);
        const res = await fetch(url, { headers: { accept: '*/*' } });
        expect(res.status, url.href).toBe(200);
        const body = await res.text();
        expect(body, url.href).not.toMatch(CDN);
        const type = res.headers.get('content-type') ?? '';
        if (type.includes('css')) await follow(url.href, cssUrls(body));
        if (type.includes('javascript')) await follow(url.href, scriptUrls(body));
        if (type.includes('html')) await follow(url.href, [...markupUrls(body), ...scriptUrls(body), ...inline(body, 'style').flatMap(cssUrls)]);
      }
    };
    expect(html).not.toMatch(CDN);
    const styles = inline(html, 'style');
    const scripts = inline(html, 'script');
    // Not a vacuous pass: GraphiQL's styles (with their fonts) and its code are in the page.
    expect(styles.join('').length).toBeGreaterThan(100_000);
    expect(scripts.join('').length).toBeGreaterThan(1_000_000);
    const fonts = styles.flatMap(cssUrls).filter((url) => /^data:font\//.test(url));
    expect(fonts.length).toBeGreaterThan(0);
    // Monaco's workers are made in the page from inlined sources, not loaded from a URL.
    expect(html).toMatch(/getWorkerUrl[\s\S]*return workers\[label\]/);
    expect(html).toContain('URL.createObjectURL(');

    await follow(gw.graphqlUrl, [...markupUrls(html), ...styles.flatMap(cssUrls), ...scripts.flatMap(scriptUrls)]);
  });

  it('presets an editable Authorization header and example operations that validate against the schema', () => {
    const options = pageOptions(html);
    const headers = JSON.parse(options.headers) as Record<string, string>;
    expect(Object.keys(headers)).toEqual(['Authorization']);
    expect(headers.Authorization).toMatch(/^Bearer <paste a tenant key or the admin token>$/);
    expect(options.defaultHeaders).toBe(options.headers);
    expect(options.subscriptionsProtocol).toBe('SSE');

    const document = parse(options.defaultQuery);
    expect(validate(schema, document)).toEqual([]);
    const operations = document.definitions as OperationDefinitionNode[];
    expect(operations.map((op) => `${op.operation} ${op.name?.value}`)).toEqual([
      'query Me',
      'mutation TextToImage',
      'subscription TaskUpdated',
      'mutation CreateTenant',
      'mutation TopUpCredits',
      'mutation IssueApiKey',
    ]);
    // Comments explain what each one does and where the credential goes.
    expect(options.defaultQuery).toMatch(/^# /);
    expect(options.defaultQuery).toContain('Headers');
    expect(options.defaultQuery).toContain('Variables');
  });

  it('runs its examples as written, with the header as GraphiQL sends it: an admin onboards a tenant, which generates an image and follows it live', async () => {
    const { defaultQuery, headers } = pageOptions(html);
    const header = (JSON.parse(headers) as { Authorization: string }).Authorization;
    const as = (credential: string) => header.replace(/<[^>]*>/, credential);
    // One operation of the document, picked by name, as GraphiQL's run button does.
    const run = async <T>(operationName: string, credential: string, variables: Record<string, unknown> = {}) => {
      const operation = getOperationAST(parse(defaultQuery), operationName);
      expect(operation?.operation).not.toBe('subscription');
      const res = await fetch(gw.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: as(credential) },
        body: JSON.stringify({ query: defaultQuery, operationName, variables }),
      });
      const body = (await res.json()) as { data?: T; errors?: unknown[] };
      expect(body.errors, operationName).toBeUndefined();
      expect(res.status).toBe(200);
      return body.data!;
    };

    const created = await run<{ createTenant: { __typename: string; data: { id: string; name: string } } }>('CreateTenant', ADMIN_TOKEN);
    expect(created.createTenant).toMatchObject({ __typename: 'MutationCreateTenantSuccess', data: { name: 'Acme' } });
    const tenantId = created.createTenant.data.id;
    const topUp = { tenantId };
    const topped = await run<{ topUpCredits: { data: { amount: number } } }>('TopUpCredits', ADMIN_TOKEN, topUp);
    expect(topped.topUpCredits.data.amount).toBe(1000);
    // Its comment says so: the same idempotency key tops up once.
    await run('TopUpCredits', ADMIN_TOKEN, topUp);
    const issued = await run<{ issueApiKey: { data: { secret: string } } }>('IssueApiKey', ADMIN_TOKEN, { tenantId });
    const key = issued.issueApiKey.data.secret;

    const me = await run<{ me: { id: string; balance: { available: number } }; prices: unknown[] }>('Me', key);
    expect(me.me).toMatchObject({ id: tenantId, balance: { available: 1000 } });
    expect(me.prices.length).toBeGreaterThan(0);
    const started = await run<{ textToImage: { __typename: string; data: { id: string } } }>('TextToImage', key);
    expect(started.textToImage.__typename).toBe('MutationTextToImageSuccess');
    const taskId = started.textToImage.data.id;

    // The subscription over SSE, as GraphiQL runs it (subscriptionsProtocol SSE).
    const res = await fetch(gw.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: as(key) },
      body: JSON.stringify({ query: defaultQuery, operationName: 'TaskUpdated', variables: { taskId } }),
      signal: AbortSignal.timeout(20_000),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const statuses: string[] = [];
    let last: { status: string; resultUrls: string[]; creditsCharged: number } | undefined;
    for await (const result of sseNext<{ data: { taskUpdated: NonNullable<typeof last> }; errors?: unknown }>(res)) {
      expect(result.errors).toBeUndefined();
      last = result.data.taskUpdated;
      statuses.push(last.status);
    }
    // The stream completes after the task ends.
    expect(statuses.at(-1)).toBe('SUCCESS');
    expect(last!.resultUrls.length).toBeGreaterThan(0);
    expect(last!.creditsCharged).toBe(5);
  });

  it('works in a real Chromium with every other host blocked: it renders, loads the schema with a pasted key and runs Me', async () => {
    const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
    if (!existsSync(executablePath)) throw new Error(`${executablePath} is missing: apt-get install -y chromium (.ci/run does)`);
    const tenant = await gw.createTenant('in-the-browser', 77);
    const origin = new URL(gw.graphqlUrl).origin;
    const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const elsewhere: string[] = [];
      const toGateway: string[] = [];
      const pageErrors: string[] = [];
      // Offline, as far as the page can tell: only the gateway answers.
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(`${origin}/`)) {
          toGateway.push(url);
          return route.continue();
        }
        elsewhere.push(url);
        return route.abort();
      });
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      await page.goto(gw.graphqlUrl);
      // Monaco renders spaces as no-break spaces: \s matches both.
      const queryEditor = page.locator('.graphiql-query-editor');
      await expect.poll(() => queryEditor.innerText(), { timeout: 20_000 }).toMatch(/query\sMe\s\{/);
      await expect.poll(() => page.locator('.graphiql-editor-tool').innerText(), { timeout: 10_000 }).toMatch(/Bearer\s<paste\sa\stenant\skey/);

      // Paste the key over the whole header text, as a person would.
      await page.getByText('Headers', { exact: true }).first().click();
      await page.locator('.graphiql-editor-tool .graphiql-editor').last().click();
      await page.keyboard.press('Control+A');
      await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${tenant.key}` }));
      // Monaco closed the brace and the quote by itself: drop what follows the cursor.
      await page.keyboard.press('Shift+Control+End');
      await page.keyboard.press('Delete');
      // Shift-Ctrl-R, as the document says: the schema loads, and with it the docs.
      const introspected = page.waitForResponse(
        (res) => res.url().startsWith(origin) && res.status() === 200 && Boolean(res.request().postData()?.includes('__schema')),
      );
      await queryEditor.getByText('Me', { exact: true }).first().click();
      await page.keyboard.press('Shift+Control+R');
      await introspected;
      await page.locator('button[aria-label^="Show Documentation Explorer"]').click();
      await expect.poll(() => page.locator('.graphiql-doc-explorer').innerText(), { timeout: 10_000 }).toMatch(/TextToImageInput/);

      // Cursor in Me, Ctrl-Enter: the tenant's own balance comes back.
      await queryEditor.getByText('Me', { exact: true }).first().click();
      await page.keyboard.press('Control+Enter');
      await expect.poll(() => page.locator('.graphiql-response').innerText(), { timeout: 10_000 }).toMatch(/"available":\s77/);
      mkdirSync('test-results/graphiql', { recursive: true });
      await page.screenshot({ path: 'test-results/graphiql/graphiql.png' });

      expect(elsewhere).toEqual([]);
      expect(toGateway.length).toBeGreaterThan(0);
      expect(pageErrors).toEqual([]);
    } catch (error) {
      // What the page showed when it failed, beside the success screenshot.
      mkdirSync('test-results/graphiql', { recursive: true });
      await browser.contexts()[0]?.pages()[0]?.screenshot({ path: 'test-results/graphiql/failure.png' });
      throw error;
    } finally {
      await browser.close();
    }
  }, 120_000); // Chromium parses the 9 MB page and starts Monaco's workers: seconds on a busy machine.
});

describe('GRAPHIQL', () => {
  it('defaults to on outside production and off in production; GRAPHIQL decides either way', () => {
    const base = { ADMIN_TOKEN, UPSTREAM_SIMULATOR: 'true' };
    const graphiql = (env: Record<string, string>) => loadConfig({ ...base, ...env }).graphql.graphiql;
    expect(graphiql({})).toBe(true);
    expect(graphiql({ NODE_ENV: 'test' })).toBe(true);
    expect(graphiql({ NODE_ENV: 'production' })).toBe(false);
    expect(graphiql({ NODE_ENV: 'production', GRAPHIQL: 'true' })).toBe(true);
    expect(graphiql({ NODE_ENV: 'development', GRAPHIQL: 'false' })).toBe(false);
    expect(graphiql({ NODE_ENV: 'production', GRAPHIQL: '' })).toBe(false);
    expect(() => graphiql({ GRAPHIQL: 'yes' })).toThrow(ConfigError);
  });

  it.each([
    ['GRAPHIQL=false outside production', { GRAPHIQL: 'false' }],
    ['NODE_ENV=production by default', { NODE_ENV: 'production' }],
  ])('%s: no page, only the answer to a GET without a query', async (_, env) => {
    const off = await startTestGateway(env);
    try {
      const res = await openPage(off);
      const body = await res.text();
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(body).not.toContain('<html');
      // Yoga's answer to a GET that carries no GraphQL query (its status is Yoga's choice).
      expect(JSON.parse(body)).toEqual({ errors: [{ message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST' } }] });
      // The API itself is unaffected.
      expect((await off.gql('{ __typename }')).data).toEqual({ __typename: 'Query' });
    } finally {
      await off.stop();
    }
  });

  it('GRAPHIQL=true in production serves the same offline page', async () => {
    const on = await startTestGateway({ NODE_ENV: 'production', GRAPHIQL: 'true' });
    try {
      const res = await openPage(on);
      expect(res.status).toBe(200);
      const page = await res.text();
      expect(page).toContain('YogaGraphiQL.renderYogaGraphiQL(');
      expect(page).not.toMatch(CDN);
      expect(pageOptions(page).defaultQuery).toBe(pageOptions(html).defaultQuery);
    } finally {
      await on.stop();
    }
  });
});
