import type { RequestRecord } from '../store/interfaces.js';

/** One route's line of the savings report (SPEC RT-6). */
export interface SavingsRow {
  rule: string;
  requests: number;
  /** What the served requests cost, micro-USD. */
  actualMicros: number;
  /** What the same tokens would have cost on the rule's strong tier. */
  allStrongMicros: number;
  savedMicros: number;
  /** saved ÷ all-strong, 0 when there is nothing to compare. */
  savedShare: number;
  /** Requests served by a tier after the first (cascade escalations, fallbacks). */
  escalations: number;
  escalationRate: number;
  /** Shadow copies and their cost, billed to the platform. */
  shadowRequests: number;
  shadowMicros: number;
  /** Shadow verdicts that agreed, over those judged. */
  agreement: number | undefined;
}

interface Totals {
  requests: number;
  actual: number;
  strong: number;
  escalations: number;
  shadows: number;
  shadowCost: number;
  judged: number;
  agreed: number;
}

/**
 * Actual cost vs the counterfactual of sending every routed request to the strong tier, per rule.
 * Only requests a rule planned count; a request without a strong tier (a `targets` rule) costs the
 * same in both columns. Shadow copies are the platform's spend, shown apart and never in `actual`.
 */
export function savingsReport(records: Iterable<RequestRecord>): SavingsRow[] {
  const byRule = new Map<string, Totals>();
  for (const record of records) {
    const decision = record.routeDecision;
    if (!decision?.rule) continue;
    let totals = byRule.get(decision.rule);
    if (!totals) byRule.set(decision.rule, (totals = { requests: 0, actual: 0, strong: 0, escalations: 0, shadows: 0, shadowCost: 0, judged: 0, agreed: 0 }));
    if (decision.shadowOf !== undefined) {
      totals.shadows++;
      totals.shadowCost += record.costMicros;
      if (decision.agreed !== undefined) {
        totals.judged++;
        if (decision.agreed) totals.agreed++;
      }
      continue;
    }
    totals.requests++;
    totals.actual += record.costMicros;
    totals.strong += decision.strongCostMicros ?? record.costMicros;
    if ((decision.servedTier ?? 0) > 0) totals.escalations++;
  }
  const rows: SavingsRow[] = [];
  for (const [rule, t] of byRule) {
    const saved = t.strong - t.actual;
    rows.push({
      rule,
      requests: t.requests,
      actualMicros: t.actual,
      allStrongMicros: t.strong,
      savedMicros: saved,
      savedShare: t.strong > 0 ? saved / t.strong : 0,
      escalations: t.escalations,
      escalationRate: t.requests > 0 ? t.escalations / t.requests : 0,
      shadowRequests: t.shadows,
      shadowMicros: t.shadowCost,
      agreement: t.judged > 0 ? t.agreed / t.judged : undefined,
    });
  }
  return rows.sort((a, b) => b.savedMicros - a.savedMicros);
}
