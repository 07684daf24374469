/**
 * The RouteLLM paper's router metrics (shared/data/routing/README.md): a router ranks prompts by
 * score, the top share goes to the strong model; PGR = (quality − weak) / (strong − weak); APGR is
 * the area under PGR over the strong-call share from 0 to 1; CPT(x) is the smallest share whose PGR
 * reaches x. Prompts with equal scores cannot be told apart by any threshold, so a tie block is
 * crossed linearly (the expected curve under a random order within the block): a constant scorer
 * gets exactly the random router's 0.5.
 */

/** One prompt as a router saw it: its score and which models answered it correctly. */
export interface RoutedPrompt {
  score: number;
  weakCorrect: boolean;
  strongCorrect: boolean;
}

/** A point of the PGR curve: after sending `strongShare` of the prompts to the strong model. */
export interface CurvePoint {
  strongShare: number;
  quality: number;
  pgr: number;
}

/** A router's figures on a set of prompts. */
export interface RouterReport {
  count: number;
  weakAccuracy: number;
  strongAccuracy: number;
  apgr: number;
  /** Smallest strong-call share reaching PGR 50 % (and 80 %); 1 when never reached. */
  cpt50: number;
  cpt80: number;
}

/** Blended price per 1M tokens the paper assumes for the strong and the weak model (USD). */
export const STRONG_PRICE_PER_MTOK = 24.7;
export const WEAK_PRICE_PER_MTOK = 0.24;

/** USD per 1M tokens when `strongShare` of the traffic goes to the strong model. */
export function blendedCostPerMillionTokens(strongShare: number): number {
  return strongShare * STRONG_PRICE_PER_MTOK + (1 - strongShare) * WEAK_PRICE_PER_MTOK;
}

/** The PGR curve at each tie-block boundary, from all-weak (share 0) to all-strong (share 1). */
export function pgrCurve(prompts: readonly RoutedPrompt[]): CurvePoint[] {
  const n = prompts.length;
  if (n === 0) return [];
  const weak = prompts.reduce((sum, p) => sum + (p.weakCorrect ? 1 : 0), 0);
  const strong = prompts.reduce((sum, p) => sum + (p.strongCorrect ? 1 : 0), 0);
  const gap = strong - weak;
  const point = (k: number, correct: number): CurvePoint => ({
    strongShare: k / n,
    quality: correct / n,
    pgr: gap === 0 ? Number.NaN : (correct - weak) / gap,
  });
  const order = [...prompts].sort((a, b) => b.score - a.score);
  const points = [point(0, weak)];
  let correct = weak;
  for (let k = 0; k < n; k++) {
    const p = order[k]!;
    correct += (p.strongCorrect ? 1 : 0) - (p.weakCorrect ? 1 : 0);
    if (k === n - 1 || order[k + 1]!.score !== p.score) points.push(point(k + 1, correct));
  }
  return points;
}

/** Area under the PGR curve (trapezoids: linear across tie blocks). */
export function apgr(curve: readonly CurvePoint[]): number {
  let area = 0;
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    area += ((a.pgr + b.pgr) / 2) * (b.strongShare - a.strongShare);
  }
  return area;
}

/** CPT(target): the smallest strong-call share at which the curve reaches `target` PGR. */
export function callPerformanceThreshold(curve: readonly CurvePoint[], target: number): number {
  for (let i = 0; i < curve.length; i++) {
    const b = curve[i]!;
    if (b.pgr < target) continue;
    if (i === 0) return b.strongShare;
    const a = curve[i - 1]!;
    return a.strongShare + ((target - a.pgr) / (b.pgr - a.pgr)) * (b.strongShare - a.strongShare);
  }
  return 1;
}

/** PGR at a given strong-call share, read off the curve. */
export function pgrAt(curve: readonly CurvePoint[], strongShare: number): number {
  for (let i = 1; i < curve.length; i++) {
    const a = curve[i - 1]!;
    const b = curve[i]!;
    if (strongShare <= b.strongShare) {
      const span = b.strongShare - a.strongShare;
      return span === 0 ? b.pgr : a.pgr + ((strongShare - a.strongShare) / span) * (b.pgr - a.pgr);
    }
  }
  return curve.length > 0 ? curve[curve.length - 1]!.pgr : Number.NaN;
}

/** APGR, CPT(50 %) and CPT(80 %) of a router's scores. */
export function routerReport(prompts: readonly RoutedPrompt[]): RouterReport {
  const curve = pgrCurve(prompts);
  const n = prompts.length;
  return {
    count: n,
    weakAccuracy: n === 0 ? Number.NaN : prompts.filter((p) => p.weakCorrect).length / n,
    strongAccuracy: n === 0 ? Number.NaN : prompts.filter((p) => p.strongCorrect).length / n,
    apgr: apgr(curve),
    cpt50: callPerformanceThreshold(curve, 0.5),
    cpt80: callPerformanceThreshold(curve, 0.8),
  };
}
