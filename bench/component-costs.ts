// The `components` phase of `npm run bench`: per-request CPU of single parts of the request path,
// each measured in its own process by its micro-benchmark (auth + limits + ledger, request
// metrics, the complexity router, the route plan over 50 rules), printed next to the end-to-end
// figures so a regression in one part is visible without a profile.
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './bench-child.js';

/** One micro-benchmark's output lines. */
export interface ComponentCost {
  name: string;
  script: string;
  lines: string[];
  ok: boolean;
}

const COMPONENTS: ReadonlyArray<{ name: string; script: string; env?: Record<string, string> }> = [
  { name: 'auth + limits + ledger (issue 5)', script: 'bench/admission-cost.ts' },
  { name: 'request metrics (issue 10)', script: 'bench/observability-cost.ts' },
  { name: 'access log (issue 10)', script: 'bench/access-log-cost.ts' },
  { name: 'complexity router (PERF-8)', script: 'bench/router-latency.ts' },
  { name: 'route plan, 50 rules (PERF-8)', script: 'bench/route-plan.ts' },
];

/** Runs every component benchmark, one process each, and keeps what each printed. */
export function measureComponentCosts(progress: (message: string) => void): ComponentCost[] {
  return COMPONENTS.map(({ name, script, env }) => {
    progress(`components: ${name}`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
    const lines = `${run.stdout ?? ''}`.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('['));
    return { name, script, lines, ok: run.status === 0 };
  });
}

/** The printed section. */
export function formatComponentCosts(costs: readonly ComponentCost[]): string {
  const parts = ['Per-request cost of single components (each in its own process; see the scripts)'];
  for (const cost of costs) {
    parts.push(`${cost.name} — ${cost.script}${cost.ok ? '' : ' (FAILED)'}`);
    for (const line of cost.lines.slice(-12)) parts.push(`  ${line}`);
  }
  return parts.join('\n');
}
