// The console in a real headless Chromium (Debian's `chromium`, driven by
// playwright-core; no browser is ever downloaded) against a real gateway
// over HTTP and graphql-ws, with the upstream simulator behind it: an admin
// creates a tenant, tops it up and issues a key; the playground generates an
// image with that key and shows it, the balance lowered by the price; a
// failed task shows its error and its refund. The page must make no failed
// request, log no console error and reach no other host. Screenshots go to
// test-results/console/.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_DIST } from '../../src/server/console.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.resolve('test-results/console');
const WAIT_MS = 15_000;

/** The build must exist and be newer than every source of it, or the test would check an old console. */
function assertConsoleBuilt(): void {
  const index = path.join(CONSOLE_DIST, 'index.html');
  if (!existsSync(index)) throw new Error('console/dist is missing: run `npm run console:build` (npm install runs it)');
  const built = statSync(index).mtimeMs;
  const sources = ['console/index.html', 'console/vite.config.ts', 'console/codegen.ts'];
  for (const entry of readdirSync('console/src', { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !file.includes(`${path.sep}gql${path.sep}`)) sources.push(file);
  }
  const stale = sources.filter((file) => statSync(file).mtimeMs > built);
  if (stale.length > 0) throw new Error(`console/dist is older than ${stale.join(', ')}: run \`npm run console:build\``);
}

/** Waits until the element's whole text is `text`; on timeout says what it showed instead. */
async function waitForText(locator: Locator, text: string): Promise<void> {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  try {
    await locator.filter({ hasText: new RegExp(`^${escaped}$`) }).first().waitFor({ timeout: WAIT_MS });
  } catch (error) {
    const shown = await locator.first().textContent({ timeout: 1000 }).catch(() => '(not on the page)');
    throw new Error(`expected "${text}", the page shows "${shown}": ${(error as Error).message}`);
  }
}

interface Recording {
  problems: string[];
  requests: string[];
  sockets: string[];
  inFlight: number;
}

/** Every request, failure, 4xx/5xx answer, console error and uncaught error of the page. */
function record(page: Page): Recording {
  const rec: Recording = { problems: [], requests: [], sockets: [], inFlight: 0 };
  page.on('request', (r) => {
    rec.requests.push(r.url());
    rec.inFlight++;
  });
  page.on('requestfinished', () => rec.inFlight--);
  page.on('requestfailed', (r) => {
    rec.inFlight--;
    rec.problems.push(`request failed: ${r.method()} ${r.url().slice(0, 120)}: ${r.failure()?.errorText} (page at ${page.url()})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) rec.problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') rec.problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => rec.problems.push(`uncaught: ${e.message}`));
  page.on('websocket', (ws) => {
    rec.sockets.push(ws.url());
    ws.on('socketerror', (e) => rec.problems.push(`websocket error: ${ws.url()}: ${e}`));
  });
  return rec;
}

/** Resolves once the page has had no request in flight for a moment: leaving a page earlier would cancel its reads. */
async function settled(rec: Recording): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  let quietSince = Date.now();
  while (Date.now() - quietSince < 300) {
    if (Date.now() > deadline) throw new Error(`the page kept ${rec.inFlight} request(s) in flight`);
    if (rec.inFlight > 0) quietSince = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the console in headless Chromium', () => {
  let gw: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let rec: Recording;
  let tenantKey = '';
  let price = 0;
  const resultUrls = new Set<string>();
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: install Debian's (apt-get install -y chromium; .ci/run does), or set CHROMIUM_PATH. These tests never download a browser.`);
    }
    assertConsoleBuilt();
    mkdirSync(SHOTS, { recursive: true });
    gw = await startTestGateway();
    // As root Chromium refuses to start with its sandbox on.
    const args = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args });
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    page = await context.newPage();
    rec = record(page);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await gw?.stop();
  });

  it('an admin signs in with the token, creates a tenant, tops it up and issues a key', { timeout: 90_000 }, async () => {
    await page.goto(`${gw.url}/console/`);
    await page.getByRole('navigation').getByRole('link', { name: 'Admin' }).click();
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('upstream-state').filter({ hasText: 'OK' }).waitFor({ timeout: WAIT_MS });

    await page.getByPlaceholder('Name', { exact: true }).fill('Console Co');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await waitForText(page.getByTestId('tenant-name'), 'Console Co');
    await waitForText(page.getByTestId('tenant-available'), '0');

    await page.getByLabel('Top-up amount').fill('500');
    await page.getByLabel('Top-up note').fill('first credits');
    await page.getByRole('button', { name: 'Top up', exact: true }).click();
    // Over graphql-ws, as the top-up commits.
    await waitForText(page.getByTestId('tenant-available'), '500');
    await page.getByTestId('ledger-row').filter({ hasText: 'TOP_UP' }).filter({ hasText: 'first credits' }).waitFor({ timeout: WAIT_MS });

    await page.getByLabel('Key name').fill('playground');
    await page.getByRole('button', { name: 'Issue key' }).click();
    tenantKey = (await page.getByTestId('new-secret').textContent({ timeout: WAIT_MS })) ?? '';
    expect(tenantKey).toMatch(/^gk_/);
    await page.getByTestId('key-row').filter({ hasText: 'playground' }).waitFor({ timeout: WAIT_MS });
    for (const action of ['tenant.create', 'credits.topUp', 'apiKey.issue']) {
      await page.getByTestId('audit-row').filter({ hasText: action }).first().waitFor({ timeout: WAIT_MS });
    }
    await settled(rec);
    await shot('admin-tenant');

    // The new secret is nowhere but on the screen: not in storage, not in the URL.
    // The admin token is in this tab's sessionStorage only.
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }) + location.href);
    expect(stored).not.toContain(tenantKey);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('the playground generates an image with that key: status live, the image shown, the balance lowered by the price', { timeout: 60_000 }, async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('Tenant API key').fill(tenantKey);
    await page.getByRole('button', { name: 'Use key' }).click();
    await waitForText(page.getByTestId('playground-tenant'), 'Console Co');
    await waitForText(page.getByTestId('balance-available'), '500');

    const quote = page.getByTestId('quote-credits').filter({ hasText: /^\d+$/ });
    await quote.waitFor({ timeout: WAIT_MS });
    price = Number(await quote.textContent());
    expect(price).toBeGreaterThan(0);

    await page.getByLabel('Prompt', { exact: true }).fill('a lighthouse at dawn');
    await page.getByRole('button', { name: 'Generate' }).click();
    const task = page.getByTestId('task').filter({ hasText: 'a lighthouse at dawn' });
    await task.and(page.locator('[data-status="SUCCESS"]')).waitFor({ timeout: WAIT_MS });
    const image = task.getByTestId('result-image');
    await image.waitFor({ timeout: WAIT_MS });
    // Loaded and decoded, not just placed.
    await page.waitForFunction((img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0, await image.elementHandle(), {
      timeout: WAIT_MS,
    });
    resultUrls.add((await image.getAttribute('src'))!);
    await waitForText(task.getByTestId('task-charged'), String(price));
    await waitForText(page.getByTestId('balance-available'), String(500 - price));
    await waitForText(page.getByTestId('balance-held'), '0');
    await settled(rec);
    await shot('playground-success');
  });

  it('a failed task shows its error and the refund; the balance comes back', { timeout: 60_000 }, async () => {
    gw.simulator.configure({ failureRate: 1 });
    try {
      await page.getByLabel('Prompt', { exact: true }).fill('a prompt the simulator fails');
      await page.getByRole('button', { name: 'Generate' }).click();
      const task = page.getByTestId('task').filter({ hasText: 'a prompt the simulator fails' });
      await task.and(page.locator('[data-status="FAILED"]')).waitFor({ timeout: WAIT_MS });
      const error = task.getByTestId('task-error');
      await error.waitFor();
      expect(await error.textContent()).toMatch(/^Failed: .+/);
      await task.getByTestId('task-refund').filter({ hasText: `Refunded: the ${price} credits charged went back to the balance.` }).waitFor({ timeout: WAIT_MS });
      await waitForText(page.getByTestId('balance-available'), String(500 - price));
      await waitForText(page.getByTestId('balance-held'), '0');
      await settled(rec);
      await shot('playground-failed');
    } finally {
      gw.simulator.configure({ failureRate: 0 });
    }
  });

  it("the admin's tenant page shows the day's usage and margin by model", { timeout: 60_000 }, async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Admin' }).click();
    // The search box asks the server (tenants(search:)): only the match is listed.
    await page.getByPlaceholder('Name or id').fill('console co');
    await expect.poll(() => page.getByTestId('tenant-row').count()).toBe(1);
    await page.getByTestId('tenant-row').getByRole('link', { name: 'Console Co' }).click();
    await waitForText(page.getByTestId('tenant-available'), String(500 - price));
    const today = new Date().toISOString().slice(0, 10);
    // Two tasks today: one succeeded, one failed and refunded; the margin is the admin's.
    const row = page.getByTestId('usage-row').filter({ hasText: today }).filter({ hasText: 'text to image' });
    await row.waitFor({ timeout: WAIT_MS });
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(2, 7)).toEqual(['2', '1', '1', String(2 * price), String(price)]);
    expect(cells[8]).toMatch(/^-?\d+$/);
    await page.locator('svg.chart rect').first().waitFor({ timeout: WAIT_MS });
    await page.getByTestId('ledger-row').filter({ hasText: 'REFUND' }).waitFor({ timeout: WAIT_MS });
    await settled(rec);
    await shot('admin-usage');
  });

  it('made no failed request, logged no console error, and reached nothing but the gateway', async () => {
    const origin = new URL(gw.url).origin;
    expect(rec.problems).toEqual([]);
    // The simulator's results are served by the gateway too (/simulator/files/), so even the image is of this origin.
    expect([...resultUrls].every((u) => new URL(u, origin).origin === origin)).toBe(true);
    const elsewhere = rec.requests.filter((u) => new URL(u).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(rec.requests.filter((u) => new URL(u).origin === origin).length).toBeGreaterThan(5);
    expect(new Set(rec.sockets)).toEqual(new Set([`${origin.replace(/^http/, 'ws')}/graphql`]));
  });
});
