import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The production bundle embeds htmx (scripts/build-bundle.mjs); elsewhere it is read from node_modules. */
declare const BREAKWATER_HTMX: string | undefined;

let htmx: string | undefined;

/** htmx 2, served as a static file so the CSP can stay `script-src 'self'`. */
export function htmxSource(): string {
  htmx ??=
    typeof BREAKWATER_HTMX !== 'undefined'
      ? BREAKWATER_HTMX
      : readFileSync(createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js'), 'utf8');
  return htmx;
}

/**
 * The page's own script: sends the CSRF token with every htmx request and applies the server's
 * live updates. Each SSE event is named after a section and carries its server-rendered (escaped)
 * HTML, swapped in with htmx so its buttons and links keep working.
 */
export const DASHBOARD_JS = `(function () {
  var token = function () { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.content : ''; };
  document.addEventListener('htmx:configRequest', function (e) { e.detail.headers['x-csrf-token'] = token(); });
  var live = function (state, text) { var el = document.getElementById('live'); if (el) { el.dataset.state = state; el.textContent = text; } };
  var updates = 0;
  function connect() {
    var source = new EventSource('/dashboard/events');
    source.onopen = function () { live('open', 'live'); };
    source.onerror = function () { live('closed', 'reconnecting…'); };
    ['traffic', 'breakers', 'streams', 'lanes'].forEach(function (name) {
      source.addEventListener(name, function (event) {
        var target = document.getElementById(name);
        if (!target) return;
        if (window.htmx) window.htmx.swap(target, event.data, { swapStyle: 'innerHTML' }); else target.innerHTML = event.data;
        updates++;
        document.body.dataset.updates = String(updates);
      });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', connect); else connect();
})();
`;

export const DASHBOARD_CSS = `
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bar: #3b82f6; --ok: #12b76a; --warn: #f79009; --bad: #f04438; font-family: system-ui, sans-serif; color: var(--fg); }
body { margin: 0; background: #f8fafc; }
header { display: flex; align-items: center; gap: 1rem; padding: .5rem 1.5rem; background: #0f172a; color: white; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
header form { margin: 0; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem; padding: 1rem 1.5rem; }
section { background: white; border: 1px solid var(--line); border-radius: 8px; padding: .5rem 1rem 1rem; overflow-x: auto; }
h2 { font-size: 1rem; } h3 { font-size: .9rem; color: var(--muted); }
.tiles { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0; }
.tiles div { min-width: 7.5rem; } .tiles dt { color: var(--muted); font-size: .75rem; } .tiles dd { margin: 0; font-size: 1.3rem; font-weight: 600; }
.tiles small { color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin-top: .75rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid var(--line); }
.state { padding: 0 .4rem; border-radius: 4px; color: white; }
.state-closed { background: var(--ok); } .state-half_open { background: var(--warn); } .state-open { background: var(--bad); }
.chart .bar { fill: var(--bar); } .chart text { font-size: 12px; fill: var(--fg); }
.tabs { display: flex; gap: .5rem; } .tab { color: var(--muted); } .tab.active { color: var(--fg); font-weight: 600; }
.live { font-size: .8rem; } .live[data-state="open"] { color: #4ade80; } .live[data-state="closed"] { color: #fca5a5; }
.empty { color: var(--muted); } .error { color: var(--bad); }
.login main { display: block; max-width: 24rem; margin: 4rem auto; }
.login label { display: block; margin: 1rem 0; } .login input { width: 100%; }
.codes { columns: 2; font-size: .85rem; } .timeline { font-size: .85rem; }
`;
