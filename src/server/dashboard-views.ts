import type { HeadlineStats } from '../observability/gateway-observability.js';
import type { RunSummary, RunTimelineEvent } from '../observability/runs-view.js';

/** Escapes text for HTML content and double-quoted attributes: every value the dashboard shows goes through here. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A tagged template that escapes every interpolation unless it is already {@link Html}. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
const pct = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '–');

/** One bar chart row set as inline SVG (no script, no inline style: the CSP allows neither). */
export function barChart(rows: { label: string; value: number; text: string }[], title: string): Html {
  if (rows.length === 0) return html`<p class="empty">No ${title.toLowerCase()} yet.</p>`;
  const max = Math.max(...rows.map((r) => r.value), 1e-12);
  const rowHeight = 22;
  const bars = rows.map((row, i) => {
    const width = Math.max(1, Math.round((row.value / max) * 300));
    const y = i * rowHeight;
    return html`<text x="0" y="${y + 15}" class="bar-label">${row.label.length > 28 ? row.label.slice(0, 27) + '…' : row.label}</text><rect x="200" y="${y + 3}" width="${width}" height="16" class="bar"></rect><text x="${206 + width}" y="${y + 15}" class="bar-value">${row.text}</text>`;
  });
  return html`<svg class="chart" role="img" aria-label="${title}" viewBox="0 0 600 ${rows.length * rowHeight}" width="600" height="${rows.length * rowHeight}">${bars}</svg>`;
}

/** The shell page: navigation, every section server-rendered, and the live-update wiring. */
export function dashboardPage(csrf: string, sections: Html): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${csrf}">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'>
<title>Breakwater dashboard</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css">
<script src="/dashboard/assets/htmx.min.js"></script><script src="/dashboard/assets/dashboard.js"></script></head>
<body><header><h1>Breakwater</h1><span id="live" class="live" data-state="connecting">connecting…</span>
<form method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Log out</button></form></header>
<main>${sections}</main></body></html>`;
}

/** The login form; `message` explains a refused attempt. */
export function loginPage(csrf: string, message?: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Breakwater — log in</title><link rel="stylesheet" href="/dashboard/assets/dashboard.css"></head>
<body class="login"><main><h1>Breakwater dashboard</h1>
${message ? html`<p class="error" id="login-error">${message}</p>` : ''}
<form method="post" action="/dashboard/login"><input type="hidden" name="csrf" value="${csrf}">
<label>Admin key <input type="password" name="key" autocomplete="off" required></label><button type="submit">Log in</button></form></main></body></html>`;
}

/** Traffic and error rates; `rates` are per second since the previous update (absent on the first render). */
export function trafficSection(stats: HeadlineStats, rates?: { rps: number; errorRate: number; semanticRate: number }): Html {
  const { requests, attempts } = stats;
  const codes = Object.entries(stats.errorsByCode).sort((a, b) => b[1] - a[1]);
  return html`<h2>Traffic</h2>
<dl class="tiles">
<div><dt>Requests</dt><dd id="requests-total">${requests.total}</dd></div>
<div><dt>Req/s</dt><dd>${rates ? rates.rps.toFixed(2) : '–'}</dd></div>
<div><dt>Errors</dt><dd id="errors-total">${requests.errors}</dd><small>${pct(requests.errors, requests.total)}</small></div>
<div><dt>Semantic failures</dt><dd id="semantic-total">${attempts.semanticFailures}</dd><small>${pct(attempts.semanticFailures, attempts.total)} of attempts</small></div>
<div><dt>Retries</dt><dd>${attempts.retries}</dd><small>${pct(attempts.retries, requests.total)}</small></div>
<div><dt>Fallbacks</dt><dd>${attempts.fallbacks}</dd><small>${pct(attempts.fallbacks, requests.total)}</small></div>
<div><dt>Tokens in / out</dt><dd>${stats.tokens.input} / ${stats.tokens.output}</dd></div>
<div><dt>Spend</dt><dd>${usd(stats.costUsd)}</dd></div>
<div><dt>In flight</dt><dd>${stats.inFlight}</dd></div>
<div><dt>Ledger backlog</dt><dd>${stats.ledgerBacklog}</dd></div>
</dl>
<table><thead><tr><th>Deployment</th><th>Requests</th><th>Errors</th><th>Attempts</th><th>Semantic failures</th><th>Spend</th></tr></thead><tbody>
${stats.deployments.map((d) => html`<tr><td>${d.deployment}</td><td>${d.requests}</td><td>${d.errors}</td><td>${d.attempts}</td><td>${d.semanticFailures}</td><td>${usd(d.costUsd)}</td></tr>`)}
</tbody></table>
${codes.length ? html`<h3>Errors by code</h3><ul class="codes">${codes.map(([code, n]) => html`<li><code>${code}</code> ${n}</li>`)}</ul>` : ''}`;
}

/** Breaker states, with a reset button for each that is not closed. */
export function breakersSection(stats: HeadlineStats): Html {
  if (stats.breakers.length === 0) return html`<h2>Breakers</h2><p class="empty">No deployment has been called yet.</p>`;
  return html`<h2>Breakers</h2><table><thead><tr><th>Deployment</th><th>State</th><th>Trip</th><th></th></tr></thead><tbody>
${stats.breakers.map(
  (b) =>
    html`<tr><td>${b.deployment}</td><td><span class="state state-${b.state}">${b.state}</span></td><td>${b.trip ?? ''}</td><td>${
      b.state === 'closed' ? '' : html`<button hx-post="/dashboard/breakers/${encodeURIComponent(b.deployment)}/reset" hx-target="#breakers">Reset</button>`
    }</td></tr>`,
)}
</tbody></table>`;
}

/** Streams open now. */
export function streamsSection(stats: HeadlineStats): Html {
  return html`<h2>Streams</h2><dl class="tiles"><div><dt>Active streams</dt><dd id="streams-active">${stats.streams.active}</dd></div><div><dt>Resumable</dt><dd>${stats.streams.resumable}</dd></div></dl>`;
}

/** Lane saturation: queue depth against capacity, and the share of requests refused. */
export function lanesSection(stats: HeadlineStats): Html {
  const rows = Object.entries(stats.lanes).map(
    ([lane, l]) =>
      html`<tr><td>${lane}</td><td>${l.requests}</td><td>${l.rejections}</td><td>${pct(l.rejections, l.requests)}</td><td>${l.queued}</td><td>${l.capacity || '–'}</td></tr>`,
  );
  return html`<h2>Lanes</h2><table><thead><tr><th>Lane</th><th>Requests</th><th>Refused</th><th>Refused share</th><th>Queued now</th><th>Capacity (concurrency)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** Spend by a dimension as a bar chart. */
export function spendSection(by: string, rows: { label: string; costUsd: number; requests: number }[], since: string): Html {
  const tabs = ['org', 'team', 'model'].map((d) => html`<a href="#spend" hx-get="/dashboard/fragments/spend?by=${d}" hx-target="#spend" class="${d === by ? 'tab active' : 'tab'}">${d === 'org' ? 'tenant' : d}</a>`);
  return html`<h2>Spend <small>since ${since}</small></h2><nav class="tabs">${tabs}</nav>
${barChart(rows.map((r) => ({ label: r.label, value: r.costUsd, text: `${usd(r.costUsd)} · ${r.requests} req` })), `Spend by ${by}`)}`;
}

/** Recent runs and the selected run's timeline, or a note that this process runs none. */
export function runsSection(runs: RunSummary[] | undefined, timeline?: { id: string; events: RunTimelineEvent[] }): Html {
  if (!runs) return html`<h2>Runs</h2><p class="empty">Durable runs are not enabled in this process.</p>`;
  return html`<h2>Runs</h2><table><thead><tr><th>Run</th><th>Name</th><th>State</th><th>Updated</th></tr></thead><tbody>
${runs.map((r) => html`<tr><td><a href="#runs" hx-get="/dashboard/fragments/runs?run=${encodeURIComponent(r.id)}" hx-target="#runs">${r.id}</a></td><td>${r.name ?? ''}</td><td>${r.state}</td><td>${new Date(r.updatedAt).toISOString()}</td></tr>`)}
</tbody></table>
${timeline ? html`<h3>Timeline of ${timeline.id}</h3><ol class="timeline">${timeline.events.map((e) => html`<li><time>${new Date(e.at).toISOString()}</time> <b>${e.type}</b> ${e.detail ?? ''}</li>`)}</ol>` : ''}`;
}
