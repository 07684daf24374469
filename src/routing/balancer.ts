import type { Random } from '../core/clock.js';
import type { BalanceStrategy } from '../config/routing-schema.js';
import type { DeploymentStats } from './deployment-stats.js';

/** What a balancer needs of a candidate. */
export interface BalancedCandidate {
  deployment: string;
  weight: number;
}

/** What balancing reads: live load, health and a random source (seeded in tests). */
export interface BalancerDeps {
  stats: DeploymentStats;
  random: Random;
  /** False when the deployment's breaker is open: it is not chosen, only kept as a last resort. */
  available(candidate: BalancedCandidate): boolean;
  /** Thresholds of the `spillover` strategy. */
  spillover?: { maxInFlight?: number | undefined; maxTtftMs?: number | undefined } | undefined;
}

/**
 * Orders a route's candidates for one request (SPEC RT-9): the balancer's choice first, the rest in
 * configured order as fallbacks. `ordered` returns the list itself; the others pick among the
 * available candidates of the first `pool` (a cascade balances within its cheapest tier only).
 */
export function balance<C extends BalancedCandidate>(strategy: BalanceStrategy, candidates: readonly C[], pool: number, deps: BalancerDeps): readonly C[] {
  if (strategy === 'ordered' || pool < 2) return candidates;
  if (strategy === 'spillover') return spill(candidates, deps);
  const open: C[] = [];
  for (let i = 0; i < pool; i++) if (deps.available(candidates[i]!)) open.push(candidates[i]!);
  if (open.length < 2) return open.length === 1 ? moveToFront(candidates, open[0]!) : candidates;
  const chosen = strategy === 'weighted' ? pickWeighted(open, deps.random) : pickOfTwo(open, deps, strategy);
  return moveToFront(candidates, chosen);
}

/**
 * Self-hosted first (SPEC RT-12): the first candidate keeps the traffic until its in-flight count
 * or TTFT EWMA reaches a threshold, then goes behind the others until it drops below again.
 */
function spill<C extends BalancedCandidate>(candidates: readonly C[], deps: BalancerDeps): readonly C[] {
  const first = candidates[0]!;
  const limits = deps.spillover ?? {};
  const busy = limits.maxInFlight !== undefined && deps.stats.inFlight(first.deployment) >= limits.maxInFlight;
  const slow = limits.maxTtftMs !== undefined && deps.stats.ttftMs(first.deployment) >= limits.maxTtftMs;
  return busy || slow ? [...candidates.slice(1), first] : candidates;
}

function moveToFront<C>(candidates: readonly C[], chosen: C): readonly C[] {
  if (candidates[0] === chosen) return candidates;
  const out = [chosen];
  for (const candidate of candidates) if (candidate !== chosen) out.push(candidate);
  return out;
}

function pickWeighted<C extends BalancedCandidate>(open: readonly C[], random: Random): C {
  let total = 0;
  for (const candidate of open) total += candidate.weight;
  let ticket = random() * total;
  for (const candidate of open) {
    ticket -= candidate.weight;
    if (ticket < 0) return candidate;
  }
  return open[open.length - 1]!;
}

/**
 * Power of two choices: two distinct random candidates, the less loaded wins. `latency` scores by
 * peak-EWMA TTFT times (in-flight + 1), so a fast deployment that is queueing stops looking fast.
 */
function pickOfTwo<C extends BalancedCandidate>(open: readonly C[], deps: BalancerDeps, strategy: 'least_inflight' | 'latency'): C {
  const first = Math.floor(deps.random() * open.length);
  let second = Math.floor(deps.random() * (open.length - 1));
  if (second >= first) second++;
  const a = open[first]!;
  const b = open[second]!;
  const score = (c: C) => (strategy === 'latency' ? deps.stats.ttftMs(c.deployment) * (deps.stats.inFlight(c.deployment) + 1) : deps.stats.inFlight(c.deployment));
  const sa = score(a);
  const sb = score(b);
  if (sa !== sb) return sa < sb ? a : b;
  return first < second ? a : b;
}
