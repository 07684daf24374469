import { blendedCostPerMillionTokens, pgrAt, pgrCurve, routerReport, type RoutedPrompt, type RouterReport } from './router-metrics.js';
import type { LabelledPrompt } from './routing-data.js';

/** The routers an evaluation compares. */
export type RouterName = 'complexity' | 'random' | 'prompt-length' | 'all-weak' | 'all-strong';

/** One row of an evaluation: a router on one benchmark (or `overall`). */
export interface EvaluationRow {
  benchmark: string;
  router: RouterName;
  count: number;
  /** Accuracy at the router's fixed point (all-weak / all-strong only). */
  accuracy?: number;
  apgr?: number;
  cpt50?: number;
  cpt80?: number;
  /** Blended USD per 1M tokens at CPT(50 %) / CPT(80 %), or at the fixed point. */
  cost50?: number;
  cost80?: number;
}

/** PGR of the complexity router at strong-call shares 0, 10 … 100 %, per benchmark. */
export interface SweepRow {
  benchmark: string;
  pgr: number[];
}

/** An evaluation: the comparison table and the router's threshold sweep. */
export interface Evaluation {
  rows: EvaluationRow[];
  sweep: SweepRow[];
}

/** Strong-call shares the sweep reports. */
export const SWEEP_SHARES: readonly number[] = Object.freeze([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);

function routed(rows: readonly LabelledPrompt[], score: (row: LabelledPrompt, index: number) => number): RoutedPrompt[] {
  return rows.map((row, i) => ({ score: score(row, i), weakCorrect: row.weakCorrect, strongCorrect: row.strongCorrect }));
}

function scored(benchmark: string, router: RouterName, report: RouterReport): EvaluationRow {
  return {
    benchmark,
    router,
    count: report.count,
    apgr: report.apgr,
    cpt50: report.cpt50,
    cpt80: report.cpt80,
    cost50: blendedCostPerMillionTokens(report.cpt50),
    cost80: blendedCostPerMillionTokens(report.cpt80),
  };
}

/**
 * Compares the router's scores with the baselines, per benchmark and overall. Random routing is
 * scored as one tie block (its expected curve); prompt-length ranks by characters.
 */
export function evaluateRouter(rows: readonly LabelledPrompt[], scores: ArrayLike<number>): Evaluation {
  const index = new Map(rows.map((row, i) => [row, i]));
  const benchmarks = [...new Set(rows.map((row) => row.benchmark))].sort();
  const groups: Array<[string, LabelledPrompt[]]> = benchmarks.map((b) => [b, rows.filter((row) => row.benchmark === b)]);
  if (benchmarks.length > 1) groups.push(['overall', [...rows]]);
  const table: EvaluationRow[] = [];
  const sweep: SweepRow[] = [];
  for (const [benchmark, group] of groups) {
    const router = routed(group, (row) => scores[index.get(row)!]!);
    const report = routerReport(router);
    table.push(scored(benchmark, 'complexity', report));
    table.push(scored(benchmark, 'random', routerReport(routed(group, () => 0))));
    table.push(scored(benchmark, 'prompt-length', routerReport(routed(group, (row) => row.prompt.length))));
    const fixed = (router: RouterName, accuracy: number, share: number): EvaluationRow => {
      const cost = blendedCostPerMillionTokens(share);
      return { benchmark, router, count: group.length, accuracy, cost50: cost, cost80: cost };
    };
    table.push(fixed('all-weak', report.weakAccuracy, 0), fixed('all-strong', report.strongAccuracy, 1));
    const curve = pgrCurve(router);
    sweep.push({ benchmark, pgr: SWEEP_SHARES.map((share) => pgrAt(curve, share)) });
  }
  return { rows: table, sweep };
}

const percent = (value: number | undefined) => (value === undefined ? '-' : `${(value * 100).toFixed(1)}%`);
const fixed3 = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(3));
const dollars = (value: number | undefined) => (value === undefined ? '-' : `$${value.toFixed(2)}`);

/** The comparison as printable table rows (see src/cli/output.ts printTable). */
export function evaluationTable(evaluation: Evaluation): Array<Record<string, string>> {
  return evaluation.rows.map((row) => ({
    benchmark: row.benchmark,
    router: row.router,
    n: String(row.count),
    APGR: fixed3(row.apgr),
    'CPT(50%)': percent(row.cpt50),
    'CPT(80%)': percent(row.cpt80),
    '$/MTok@CPT50': dollars(row.cost50),
    '$/MTok@CPT80': dollars(row.cost80),
    accuracy: percent(row.accuracy),
  }));
}

/** The threshold sweep as printable table rows. */
export function sweepTable(evaluation: Evaluation): Array<Record<string, string>> {
  return evaluation.sweep.map((row) => ({
    benchmark: row.benchmark,
    ...Object.fromEntries(SWEEP_SHARES.map((share, i) => [`PGR@${Math.round(share * 100)}%`, row.pgr[i]!.toFixed(2)])),
  }));
}

/** Column order of `evaluationTable` and `sweepTable`. */
export const EVALUATION_COLUMNS = ['benchmark', 'router', 'n', 'APGR', 'CPT(50%)', 'CPT(80%)', '$/MTok@CPT50', '$/MTok@CPT80', 'accuracy'];
export const SWEEP_COLUMNS = ['benchmark', ...SWEEP_SHARES.map((share) => `PGR@${Math.round(share * 100)}%`)];
