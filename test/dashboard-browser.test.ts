import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import type { SimAdapter } from '../src/sim/sim-adapter.js';
import { defineAgent } from '../src/runs/define-agent.js';
import { chromiumSkip, launchChromium } from './helpers/chromium.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';

// The dashboard (SPEC OBS-7) in Debian's chromium against a real gateway: login with the admin
// key, every view shows the scripted traffic, a live update arrives over SSE, a virtual key is
// refused. Screenshots go to $BREAKWATER_ARTIFACTS (default: a temp dir), named per view.

const SKIP = chromiumSkip('dashboard-browser.test.ts');

const ARTIFACTS = process.env.BREAKWATER_ARTIFACTS ?? join(tmpdir(), 'breakwater-artifacts');
const WAIT = { timeout: 10_000 };
const CONFIG = `
providers:
  sim: { kind: sim }
  sim-b: { kind: sim }
models:
  strict:
    deployments:
      - { provider: sim, model: sim-fast }
      - { provider: sim-b, model: sim-fast }
    validators: [{ type: refusal }]
`;

declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { textContent: string | null } | null };

let gateway: TestGateway;
let browser: Browser;
let openai: OpenAI;
const cspViolations: string[] = [];

const messages = [{ role: 'user' as const, content: 'Say something useful' }];
// A durable run for the runs view and its timeline.
const adder = defineAgent({
  name: 'adder',
  async run(ctx, input: { n: number }) {
    let total = 0;
    for (let i = 1; i <= input.n; i++) total += await ctx.step(`add-${i}`, () => i);
    return { total };
  },
});
let runId = '';

before(async () => {
  if (SKIP) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  gateway = await startTestGateway({ configYaml: CONFIG, agents: [adder] });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: gateway.key, maxRetries: 0 });
  const primary = gateway.app.providers.adapter('sim') as SimAdapter;
  await openai.chat.completions.create({ model: 'strict', messages, max_tokens: 16 });
  primary.engine.setFaults('refusal');
  await openai.chat.completions.create({ model: 'strict', messages, max_tokens: 16 });
  primary.engine.clearFaults();
  await gateway.app.ledger.flush();
  const created = await fetch(`${gateway.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'adder', input: { n: 3 } }),
  });
  runId = ((await created.json()) as { id: string }).id;
  for (let i = 0; i < 200 && (await gateway.app.stores.runs.getRun(runId))?.status !== 'succeeded'; i++) await new Promise((r) => setTimeout(r, 25));
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await gateway?.close();
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return page;
}

async function logIn(page: Page, key: string): Promise<void> {
  await page.goto(`${gateway.url}/dashboard`);
  await page.fill('input[name="key"]', key);
  await page.click('button[type="submit"]');
}

test('a virtual key is refused at login, and the page says why', { skip: SKIP }, async () => {
  const page = await newPage();
  await logIn(page, gateway.key);
  await page.waitForSelector('#login-error', WAIT);
  assert.match((await page.textContent('#login-error')) ?? '', /not a valid admin key/);
  const fragment = await page.request.get(`${gateway.url}/dashboard/fragments/traffic`);
  assert.equal(fragment.status(), 401, 'no session, no data');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-login-refused.png') });
  await page.close();
});

test('the admin key logs in; every view shows the scripted traffic; a live update arrives', { skip: SKIP }, async () => {
  const page = await newPage();
  await logIn(page, gateway.adminKey);
  await page.waitForSelector('#traffic', WAIT);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'bw_dashboard')!;
  assert.ok(session.httpOnly, 'HttpOnly');
  assert.equal(session.sameSite, 'Strict');
  assert.ok(!session.value.includes(gateway.adminKey.slice(4)), 'the cookie is a session id, not the key');

  assert.equal(await page.textContent('#requests-total'), '2');
  assert.equal(await page.textContent('#semantic-total'), '1');
  assert.match((await page.textContent('#traffic')) ?? '', /sim-b\/sim-fast/);
  assert.match((await page.textContent('#breakers')) ?? '', /sim\/sim-fast\s*closed/);
  assert.match((await page.textContent('#lanes')) ?? '', /interactive/);
  assert.equal(await page.textContent('#streams-active'), '0');
  assert.match((await page.textContent('#runs')) ?? '', new RegExp(`${runId}\\s*adder\\s*succeeded`));
  await page.click(`#runs a:has-text("${runId}")`);
  await page.waitForSelector('#runs ol.timeline li', WAIT);
  assert.match((await page.textContent('#runs ol.timeline')) ?? '', /step\.completed.*run\.completed/, "the run's timeline, from its event log");
  // Spend by tenant, then by model through htmx.
  assert.equal(await page.locator('#spend svg.chart rect').count(), 1, 'one tenant has spent');
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });
  await page.click('#spend a.tab:has-text("model")');
  await page.waitForSelector('#spend svg[aria-label="Spend by model"]', WAIT);
  assert.equal(await page.locator('#spend svg.chart rect').count(), 2, 'one answer from each deployment');
  assert.match((await page.textContent('#spend')) ?? '', /sim\/sim-fast.*sim-b\/sim-fast|sim-b\/sim-fast.*sim\/sim-fast/s);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-spend-by-model.png'), fullPage: true });

  // Live: the SSE connection is open, then new traffic shows up without a reload.
  await page.waitForFunction(() => document.body.dataset.updates !== undefined, undefined, WAIT);
  await openai.chat.completions.create({ model: 'strict', messages, max_tokens: 16 });
  await page.waitForFunction(() => document.getElementById('requests-total')?.textContent === '3', undefined, WAIT);
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live-update.png'), fullPage: true });
  assert.deepEqual(cspViolations, [], 'the page runs under its strict CSP without violations');
  await page.close();
});

test('POSTs without the CSRF token are refused, with it a breaker resets', { skip: SKIP }, async () => {
  const page = await newPage();
  await logIn(page, gateway.adminKey);
  await page.waitForSelector('#traffic', WAIT);
  const refused = await page.request.post(`${gateway.url}/dashboard/breakers/sim%2Fsim-fast/reset`);
  assert.equal(refused.status(), 403);
  const csrf = await page.getAttribute('meta[name="csrf-token"]', 'content');
  const accepted = await page.request.post(`${gateway.url}/dashboard/breakers/sim%2Fsim-fast/reset`, { headers: { 'x-csrf-token': csrf! } });
  assert.equal(accepted.status(), 200);
  assert.match(await accepted.text(), /<h2>Breakers<\/h2>/);
  const headers = accepted.headers();
  assert.match(headers['content-security-policy']!, /default-src 'none'; script-src 'self'/);
  await page.close();
});

test('failed logins are throttled', { skip: SKIP }, async () => {
  const page = await newPage();
  let status = 0;
  for (let i = 0; i < 7 && status !== 429; i++) {
    await page.goto(`${gateway.url}/dashboard`);
    await page.fill('input[name="key"]', `bwa_wrong${i}`);
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/dashboard/login')), page.click('button[type="submit"]')]);
    status = response.status();
  }
  assert.equal(status, 429);
  await page.close();
});
