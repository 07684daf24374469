import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { GatewayObservability, HeadlineStats } from '../observability/gateway-observability.js';
import type { RunsView } from '../observability/runs-view.js';
import type { BreakerRegistry } from '../resilience/circuit-breaker.js';
import type { Stores, UsageDimension } from '../store/interfaces.js';
import type { Authenticator } from './auth.js';
import { DashboardSessions, sameToken, type DashboardSession } from './dashboard-auth.js';
import { DASHBOARD_CSS, DASHBOARD_JS, htmxSource } from './dashboard-assets.js';
import { breakersSection, dashboardPage, html, lanesSection, loginPage, runsSection, spendSection, streamsSection, trafficSection, type Html } from './dashboard-views.js';
import type { HttpServer } from './http-server.js';

/** What the dashboard reads. */
export interface DashboardDeps {
  authenticate: Authenticator;
  observability: GatewayObservability;
  breakers: () => BreakerRegistry;
  stores: Pick<Stores, 'ledger' | 'principals'>;
  runs?: RunsView | undefined;
  clock: Clock;
  /** How often live sections are pushed over SSE. */
  updateMs?: number;
}

/** Strict CSP (SPEC OBS-7): only our own scripts, styles and connections; no inline code, no framing. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const PAGE_HEADERS = { 'content-security-policy': CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin', 'cache-control': 'no-store', 'x-frame-options': 'DENY' };
const SPEND_WINDOW_MS = 24 * 3600_000;
const MAX_FORM_BYTES = 4096;
const SPEND_DIMENSIONS: Record<string, UsageDimension> = { org: 'org', team: 'team', model: 'served_model' };

function send(res: ServerResponse, status: number, body: string | Html, type = 'text/html; charset=utf-8', headers: Record<string, string | string[]> = {}): void {
  const text = String(body);
  res.writeHead(status, { ...PAGE_HEADERS, ...headers, 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_FORM_BYTES) reject(new BreakwaterError('request_too_large', 'form too large'));
    });
    req.once('end', () => resolve(new URLSearchParams(body)));
    req.once('error', reject);
  });
}

/** A POST from another origin is refused whatever tokens it carries (the pages' referrer policy keeps browsers sending Origin). */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === undefined;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * `/dashboard` (SPEC OBS-7): server-rendered HTML over the same stats as `GET /admin/stats`,
 * live sections pushed over SSE, spend from the ledger, breaker resets. Admin keys only.
 */
export function registerDashboardRoutes(http: HttpServer, deps: DashboardDeps): void {
  const { router } = http;
  const sessions = new DashboardSessions(() => deps.clock.now());
  const updateMs = deps.updateMs ?? 1000;

  const sections = async (stats: HeadlineStats, spendBy = 'org'): Promise<Html> => {
    const runs = deps.runs ? await deps.runs.list(20) : undefined;
    return html`<section id="traffic">${trafficSection(stats)}</section><section id="breakers">${breakersSection(stats)}</section>
<section id="spend">${await spend(spendBy)}</section><section id="lanes">${lanesSection(stats)}</section>
<section id="streams">${streamsSection(stats)}</section><section id="runs">${runsSection(runs)}</section>`;
  };

  const spend = async (by: string): Promise<Html> => {
    const dimension = SPEND_DIMENSIONS[by] ?? 'org';
    const since = deps.clock.now() - SPEND_WINDOW_MS;
    const [rows, principals] = await Promise.all([deps.stores.ledger.usage({ since, groupBy: [dimension] }), dimension === 'served_model' ? [] : deps.stores.principals.listPrincipals()]);
    const names = new Map(principals.map((p) => [p.id, p.name]));
    const bars = rows.slice(0, 15).map((row) => {
      const id = row.group[dimension] ?? '(none)';
      return { label: names.get(id) ?? id, costUsd: row.costMicros / 1e6, requests: row.requests };
    });
    return spendSection(SPEND_DIMENSIONS[by] ? by : 'org', bars, new Date(since).toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
  };

  /** The session, or a redirect to the login page (pages) / 401 (fragments, events). */
  const withSession = (handler: (req: IncomingMessage, res: ServerResponse, session: DashboardSession, params: Record<string, string>) => Promise<void> | void, page = false) =>
    async (req: IncomingMessage, res: ServerResponse, info: { params: Record<string, string> }) => {
      const session = sessions.session(req);
      if (!session) {
        if (page) {
          const login = sessions.loginToken();
          send(res, 200, loginPage(login.csrf), undefined, { 'set-cookie': login.setCookie });
        } else send(res, 401, 'log in at /dashboard', 'text/plain; charset=utf-8');
        return;
      }
      if (req.method === 'POST') {
        const token = req.headers['x-csrf-token'];
        if (!sameOrigin(req) || !sameToken(session.csrf, typeof token === 'string' ? token : undefined)) {
          send(res, 403, 'missing or wrong CSRF token', 'text/plain; charset=utf-8');
          return;
        }
      }
      await handler(req, res, session, info.params);
    };

  router.on('GET', '/dashboard', withSession(async (_req, res, session) => send(res, 200, dashboardPage(session.csrf, await sections(await deps.observability.stats()))), true));

  router.on('POST', '/dashboard/login', async (req, res) => {
    const address = req.socket.remoteAddress ?? 'unknown';
    const form = await readForm(req);
    const relogin = (status: number, message: string, headers: Record<string, string> = {}) => {
      const login = sessions.loginToken();
      send(res, status, loginPage(login.csrf, message), undefined, { ...headers, 'set-cookie': login.setCookie });
    };
    const wait = sessions.throttledFor(address);
    if (wait > 0) return relogin(429, `Too many failed logins; try again in ${wait} s.`, { 'retry-after': String(wait) });
    if (!sameOrigin(req) || !sessions.loginTokenValid(req, form.get('csrf') ?? undefined)) return relogin(403, 'The login form expired; try again.');
    const key = form.get('key')?.trim() ?? '';
    const record = key ? await deps.authenticate(key) : undefined;
    if (!record || record.kind !== 'admin') {
      sessions.recordFailure(address);
      return relogin(401, 'That is not a valid admin key.');
    }
    res.writeHead(303, { ...PAGE_HEADERS, location: '/dashboard', 'set-cookie': sessions.open(record), 'content-length': 0 });
    res.end();
  });

  router.on('POST', '/dashboard/logout', async (req, res) => {
    const session = sessions.session(req);
    const form = await readForm(req);
    if (session && sameOrigin(req) && sameToken(session.csrf, form.get('csrf') ?? undefined)) {
      res.writeHead(303, { ...PAGE_HEADERS, location: '/dashboard', 'set-cookie': sessions.close(req), 'content-length': 0 });
    } else res.writeHead(303, { ...PAGE_HEADERS, location: '/dashboard', 'content-length': 0 });
    res.end();
  });

  router.on(
    'GET',
    '/dashboard/fragments/:name',
    withSession(async (req, res, _session, params) => {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      const stats = await deps.observability.stats();
      const fragments: Record<string, () => Promise<Html> | Html> = {
        traffic: () => trafficSection(stats),
        breakers: () => breakersSection(stats),
        lanes: () => lanesSection(stats),
        streams: () => streamsSection(stats),
        spend: () => spend(query.get('by') ?? 'org'),
        runs: async () => {
          if (!deps.runs) return runsSection(undefined);
          const run = query.get('run');
          return runsSection(await deps.runs.list(20), run ? { id: run, events: await deps.runs.timeline(run, 200) } : undefined);
        },
      };
      const render = fragments[params.name!];
      if (!render) throw new BreakwaterError('not_found', `no dashboard fragment '${params.name}'`);
      send(res, 200, await render());
    }),
  );

  router.on(
    'POST',
    '/dashboard/breakers/:deployment/reset',
    withSession(async (_req, res, session, params) => {
      if (!session.canWrite) return send(res, 403, 'this admin key is read-only', 'text/plain; charset=utf-8');
      deps.breakers().reset(params.deployment!);
      send(res, 200, breakersSection(await deps.observability.stats()));
    }),
  );

  router.on('GET', '/dashboard/events', withSession((_req, res) => liveEvents(res, deps.observability, updateMs, () => http.draining)));

  const asset = (body: () => string, type: string) => (_req: IncomingMessage, res: ServerResponse) =>
    send(res, 200, body(), type, { 'cache-control': 'public, max-age=3600' });
  router.on('GET', '/dashboard/assets/htmx.min.js', asset(htmxSource, 'text/javascript; charset=utf-8'));
  router.on('GET', '/dashboard/assets/dashboard.js', asset(() => DASHBOARD_JS, 'text/javascript; charset=utf-8'));
  router.on('GET', '/dashboard/assets/dashboard.css', asset(() => DASHBOARD_CSS, 'text/css; charset=utf-8'));
}

/** Pushes each live section whenever its HTML changed, every `updateMs`, until the browser leaves. */
async function liveEvents(res: ServerResponse, observability: GatewayObservability, updateMs: number, draining: () => boolean): Promise<void> {
  res.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  const last = new Map<string, string>();
  let previous: HeadlineStats | undefined;
  const push = async () => {
    // A shutdown should not wait for dashboards: the browser reconnects to the next process.
    if (draining()) return void res.end();
    const stats = await observability.stats();
    const seconds = previous ? (stats.at - previous.at) / 1000 : 0;
    const rates =
      previous && seconds > 0
        ? {
            rps: (stats.requests.total - previous.requests.total) / seconds,
            errorRate: (stats.requests.errors - previous.requests.errors) / seconds,
            semanticRate: (stats.attempts.semanticFailures - previous.attempts.semanticFailures) / seconds,
          }
        : undefined;
    previous = stats;
    const views: [string, Html][] = [
      ['traffic', trafficSection(stats, rates)],
      ['breakers', breakersSection(stats)],
      ['lanes', lanesSection(stats)],
      ['streams', streamsSection(stats)],
    ];
    let out = '';
    for (const [name, view] of views) {
      if (last.get(name) === view.text) continue;
      last.set(name, view.text);
      out += `event: ${name}\n${view.text.split('\n').map((line) => `data: ${line}`).join('\n')}\n\n`;
    }
    res.write(out || ': keep-alive\n\n');
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => void push().catch(() => res.end()), updateMs);
    res.on('close', () => {
      clearInterval(timer);
      resolve();
    });
    void push().catch(() => res.end());
  });
}
