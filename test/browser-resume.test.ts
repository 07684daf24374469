import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page, Request, Route } from 'playwright-core';
import { ManualClock } from '../src/core/clock.js';
import type { LiveStream } from '../src/streaming/live-stream.js';
import { chatText, readSse } from './helpers/sse-client.js';
import { chromiumSkip, launchChromium } from './helpers/chromium.js';
import { startTestGateway, type TestGateway } from './helpers/test-gateway.js';
import { VirtualPump } from './helpers/virtual-pump.js';

// The documented browser client (examples/resumable-chat.html) in Debian's chromium against a real
// gateway (SPEC ST-2, ST-11). The simulated model runs on a manual clock (test/helpers/virtual-pump.ts),
// so the test decides when tokens exist: it holds time while it reloads the page (or cuts its
// connection) mid-stream, lets the detached stream run on, and only then lets the page's reattach
// through. Every wait is for a stream or DOM condition, never a fixed sleep.

const SKIP = chromiumSkip('browser-resume.test.ts');

const DEMO = readFileSync(new URL('../examples/resumable-chat.html', import.meta.url), 'utf8');
const STORE = 'breakwater.resumable-chat';
const CUT_AT = 20;
const DETACHED_EVENTS = 30;
const WAIT = { timeout: 10_000 };

// What the browser-side callbacks touch (the test tsconfig has no DOM lib).
declare const document: { getElementById(id: string): { dataset: Record<string, string | undefined> } | null };
declare const sessionStorage: { getItem(key: string): string | null };

let clock: ManualClock;
let virtual: VirtualPump;
let gateway: TestGateway;
let browser: Browser;

before(async () => {
  if (SKIP) return;
  clock = new ManualClock(Date.UTC(2026, 10, 27));
  virtual = new VirtualPump(clock);
  // The stream id header goes out 20 ms (real time) after the request even while virtual time is held.
  gateway = await startTestGateway({ clock, timeScale: 1, configYaml: 'stream: { earlyCommitMs: 20 }\n' });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await gateway?.close();
});

/** Moves virtual time in 10 ms steps until `done`, so the test stops the model at a known event. */
async function runUntil(done: () => boolean, what: string): Promise<void> {
  for (let ms = 0; !done(); ms += 10) {
    if (ms > 60_000) throw new Error(`still waiting after 60 s of virtual time for ${what}`);
    await virtual.advance(10);
  }
}

/** A fresh browser context with the example page served at `origin`/demo, and every request it makes. */
async function openDemo(origin: string): Promise<{ context: BrowserContext; page: Page; requests: Request[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests: Request[] = [];
  page.on('request', (request) => requests.push(request));
  // Served at the gateway's own origin without the gateway knowing: its fetches are same-origin.
  await page.route(`${origin}/demo*`, (route) => route.fulfill({ contentType: 'text/html; charset=utf-8', body: DEMO }));
  await page.goto(`${origin}/demo?key=${encodeURIComponent(gateway.key)}`);
  return { context, page, requests };
}

const stateOf = (page: Page) => page.locator('#answer').getAttribute('data-state');
const textOf = async (page: Page) => (await page.locator('#answer').textContent()) ?? '';

/**
 * Sends the prompt and stops the model once CUT_AT events exist and the page has shown them all;
 * returns the live stream and the text on screen.
 */
async function startAndHold(page: Page): Promise<{ live: LiveStream; shown: string }> {
  const streams = gateway.app.streams;
  const before = streams.activeCount;
  const response = page.waitForResponse((res) => res.url().endsWith('/v1/chat/completions'));
  await page.click('#send');
  await runUntil(() => streams.activeCount > before, 'the stream to start');
  const id = (await response).headers()['x-breakwater-stream-id'];
  assert.match(id ?? '', /^strm_[0-9a-f]{32}$/);
  const live = streams.get(id!)!;
  await runUntil(() => live.lastSeq >= CUT_AT, `event ${CUT_AT}`);
  const seen = live.lastSeq;
  await page.waitForFunction(([key, seq]) => JSON.parse(sessionStorage.getItem(key) ?? 'null')?.last === seq, [STORE, seen] as const, WAIT);
  assert.equal(await stateOf(page), 'streaming');
  const shown = await textOf(page);
  assert.ok(shown.length > 0, 'some text is on screen');
  return { live, shown };
}

/**
 * Holds the page's `GET /v1/streams/{id}` until the stream, detached, has produced more events,
 * so the reattach must replay them; returns the held request once the page has sent it.
 */
function holdReattach(page: Page): { reattach: Promise<Request>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const reattach = page.waitForRequest('**/v1/streams/**', WAIT);
  void page.route('**/v1/streams/**', async (route: Route) => {
    await released;
    await route.continue();
  });
  return { reattach, release };
}

/** Checks the held reattach, lets it through once the detached stream ran on, and waits for the end. */
async function resumeToEnd(page: Page, live: LiveStream, seen: number, shown: string, held: ReturnType<typeof holdReattach>): Promise<void> {
  const reattach = await held.reattach;
  assert.equal(reattach.method(), 'GET');
  assert.equal(new URL(reattach.url()).pathname, `/v1/streams/${live.id}`);
  assert.equal(reattach.headers()['last-event-id'], String(seen), 'the page asks for what follows the last event it showed');
  assert.equal(await textOf(page), shown, 'while reattaching, the page shows the text it had');
  assert.equal(await stateOf(page), 'reconnecting');
  await runUntil(() => live.subscribers === 0 && live.lastSeq >= seen + DETACHED_EVENTS, 'the detached stream to run on');
  held.release();
  await virtual.during(() => page.waitForFunction(() => document.getElementById('answer')?.dataset.state === 'done', undefined, WAIT));
}

/** The same request the page made, sent from Node without `x-breakwater-resumable`, read in one go. */
async function referenceText(requests: Request[]): Promise<string> {
  const post = requests.find((request) => request.method() === 'POST' && request.url().endsWith('/v1/chat/completions'));
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'content-type': 'application/json' },
    body: post!.postData()!,
  });
  assert.equal(res.headers.get('x-breakwater-stream-id'), null, 'the reference is not resumable');
  return chatText((await virtual.during(() => readSse(res))).events);
}

test('a page reloaded mid-stream reattaches with Last-Event-ID and shows the whole answer exactly once', { skip: SKIP, timeout: 30_000 }, async () => {
  const { context, page, requests } = await openDemo(gateway.url);
  try {
    const { live, shown } = await startAndHold(page);
    const seen = live.lastSeq;
    const held = holdReattach(page);
    await page.reload();
    await resumeToEnd(page, live, seen, shown, held);

    const text = await textOf(page);
    const reference = await referenceText(requests);
    assert.ok(reference.length > 1000, `a long answer (${reference.length} characters)`);
    assert.ok(text.startsWith(shown));
    assert.equal(text, reference, 'the whole answer, no gap, no duplicate');
    assert.equal(requests.filter((request) => request.url().includes('/v1/streams/')).length, 1, 'one reattach');
    assert.equal(live.status, 'completed');
  } finally {
    await context.close();
  }
});

/** A TCP proxy to `target` that can drop every connection at once, like a flaky network. */
async function startCuttingProxy(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    track(client);
    track(upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.resetAndDestroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut,
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test('a connection dropped mid-stream is reattached by the page without a reload, with nothing lost or repeated', { skip: SKIP, timeout: 30_000 }, async () => {
  const proxy = await startCuttingProxy(new URL(gateway.url));
  const { context, page, requests } = await openDemo(proxy.url);
  try {
    const { live, shown } = await startAndHold(page);
    const seen = live.lastSeq;
    const held = holdReattach(page);
    proxy.cut();
    await resumeToEnd(page, live, seen, shown, held);

    assert.equal(await textOf(page), await referenceText(requests), 'the whole answer, no gap, no duplicate');
    assert.equal(requests.filter((request) => request.url().includes('/v1/streams/')).length, 1, 'one reattach');
  } finally {
    await context.close();
    await proxy.close();
  }
});
