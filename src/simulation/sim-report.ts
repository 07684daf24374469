import type { FailureClass, TrialResult } from './run-trial.js';

/** pass^k with its 95 % interval. */
export interface PassAtK {
  k: number;
  value: number;
  low: number;
  high: number;
}

/** One scenario's figures (SPEC SIM-6, SIM-14). */
export interface ScenarioReport {
  scenario: string;
  file: string;
  trials: number;
  passed: number;
  passK: PassAtK[];
  failureClasses: Record<FailureClass, number>;
  meanSteps: number;
  meanCostMicros: number;
  meanEffects: number;
  /** Worker processes SIGKILLed by crash faults, over all trials. */
  workerKills: number;
  /** Below a threshold: `sim run` exits non-zero. */
  belowThreshold: string[];
  /** How this run differed from the scenario as written (e.g. scripts not applied against a gateway). */
  notes: string[];
  results: TrialResult[];
}

function choose(n: number, k: number): number {
  let result = 1;
  for (let i = 1; i <= k; i++) result = (result * (n - k + i)) / i;
  return result;
}

/** The Wilson score interval of `successes` in `n` at 95 %: honest at 0 and n, unlike the normal one. */
export function wilson(successes: number, n: number, z = 1.96): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const centre = p + (z * z) / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { low: Math.max(0, (centre - spread) / denominator), high: Math.min(1, (centre + spread) / denominator) };
}

/**
 * pass^k = C(c,k)/C(n,k): the chance that k trials drawn from the n all pass. Its interval maps
 * the Wilson interval of the per-trial pass rate through p^k (pass^k ≈ p^k for independent trials).
 */
export function passAtK(passed: number, n: number, maxK: number): PassAtK[] {
  const { low, high } = wilson(passed, n);
  const out: PassAtK[] = [];
  for (let k = 1; k <= Math.min(maxK, n); k++) out.push({ k, value: choose(passed, k) / choose(n, k), low: low ** k, high: high ** k });
  return out;
}

const mean = (values: number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);

/** Summarises a scenario's trials; simulator failures are reported apart and left out of the pass rates. */
export function summarise(scenario: string, file: string, results: TrialResult[], thresholds: { pass1?: number | undefined; passK?: number | undefined }, maxK: number, notes: string[] = []): ScenarioReport {
  const counted = results.filter((r) => r.failureClass !== 'simulator');
  const passed = counted.filter((r) => r.passed).length;
  const passK = passAtK(passed, counted.length, maxK);
  const failureClasses: Record<FailureClass, number> = { agent: 0, simulator: 0, infrastructure: 0 };
  for (const r of results) if (r.failureClass) failureClasses[r.failureClass]++;
  const belowThreshold: string[] = [];
  const pass1 = thresholds.pass1 ?? 1;
  if ((passK[0]?.value ?? 0) < pass1) belowThreshold.push(`pass^1 ${fmt(passK[0]?.value ?? 0)} < ${pass1}`);
  const last = passK.at(-1);
  if (thresholds.passK !== undefined && last && last.value < thresholds.passK) belowThreshold.push(`pass^${last.k} ${fmt(last.value)} < ${thresholds.passK}`);
  if (failureClasses.simulator > 0) belowThreshold.push(`${failureClasses.simulator} simulator failure(s)`);
  return {
    scenario,
    file,
    trials: results.length,
    passed,
    passK,
    failureClasses,
    meanSteps: mean(results.map((r) => r.steps)),
    meanCostMicros: mean(results.map((r) => r.costMicros)),
    meanEffects: mean(results.map((r) => r.effects)),
    workerKills: results.reduce((sum, r) => sum + r.crashes, 0),
    belowThreshold,
    notes,
    results,
  };
}

function fmt(value: number): string {
  return value.toFixed(2);
}

/** The text report: one block per scenario, failures with their reasons. */
export function formatReport(reports: readonly ScenarioReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const verdict = r.belowThreshold.length === 0 ? 'PASS' : 'FAIL';
    lines.push(`${verdict} ${r.scenario} (${r.file}): ${r.passed}/${r.trials - r.failureClasses.simulator} trials passed`);
    lines.push(`  ${r.passK.map((p) => `pass^${p.k} ${fmt(p.value)} [${fmt(p.low)}, ${fmt(p.high)}]`).join('  ')}`);
    lines.push(`  failures: agent ${r.failureClasses.agent}, infrastructure ${r.failureClasses.infrastructure}, simulator ${r.failureClasses.simulator} (not counted)`);
    lines.push(`  mean steps ${r.meanSteps.toFixed(1)}, mean cost ${Math.round(r.meanCostMicros)} µ$, mean effects ${r.meanEffects.toFixed(1)}${r.workerKills ? `, ${r.workerKills} worker kill(s)` : ''}`);
    for (const note of r.notes) lines.push(`  note: ${note}`);
    for (const t of r.results.filter((t) => !t.passed)) {
      lines.push(`  ✗ trial ${t.trial} (seed ${t.seed}, ${t.failureClass}${t.crashes ? `, ${t.crashes} worker kill(s)` : ''}):`);
      for (const failure of t.failures) lines.push(`      ${failure}`);
    }
    for (const reason of r.belowThreshold) lines.push(`  below threshold: ${reason}`);
  }
  return lines.join('\n') + '\n';
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JUnit XML: a suite per scenario, a case per trial. */
export function formatJunit(reports: readonly ScenarioReport[]): string {
  const suites = reports.map((r) => {
    const cases = r.results.map((t) => {
      const body = t.passed ? '' : `<failure type="${t.failureClass}" message="${xml(t.failures[0] ?? '')}">${xml(t.failures.join('\n'))}</failure>`;
      return `    <testcase classname="${xml(r.scenario)}" name="trial ${t.trial} (seed ${t.seed})">${body}</testcase>`;
    });
    const failures = r.results.filter((t) => !t.passed).length;
    return `  <testsuite name="${xml(r.scenario)}" tests="${r.trials}" failures="${failures}">\n${cases.join('\n')}\n  </testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n${suites.join('\n')}\n</testsuites>\n`;
}
