import type { BalanceStrategy } from '../config/routing-schema.js';

/** Why a request went where it went (SPEC RT-4), for the `x-breakwater-route` header and the ledger. */
export interface RouteDecision {
  /** The rule that matched; absent when the requested model's own route served it. */
  rule?: string | undefined;
  strategy: BalanceStrategy;
  /** Complexity router's p_strong and the threshold it was compared with. */
  score?: number | undefined;
  threshold?: number | undefined;
  /** The tier planned first: `weak`/`strong` (complexity), `0`, `1`… (cascade). */
  tier?: string | undefined;
  /** The guard pinned the route to its strong tier. */
  pinned?: boolean | undefined;
}

/** The `x-breakwater-route` header value: `rule=cheap; strategy=ordered; tier=weak; score=0.4123; threshold=0.5903`. */
export function formatRouteHeader(decision: RouteDecision, model: string): string {
  let header = decision.rule === undefined ? `model=${model}` : `rule=${decision.rule}`;
  header += `; strategy=${decision.strategy}`;
  if (decision.tier !== undefined) header += `; tier=${decision.tier}`;
  if (decision.score !== undefined) header += `; score=${decision.score.toFixed(4)}`;
  if (decision.threshold !== undefined) header += `; threshold=${decision.threshold.toFixed(4)}`;
  if (decision.pinned) header += '; pinned=strong';
  return header;
}
