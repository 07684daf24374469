import type { AttemptOutcome, AttemptPolicy } from '../core/attempt-loop.js';
import type { Clock, Random } from '../core/clock.js';
import type { Usage } from '../core/types.js';
import { retryWaitMs } from '../resilience/backoff.js';
import { Bulkhead } from '../resilience/bulkhead.js';
import { BreakerRegistry, type RegistryChangeListener } from '../resilience/circuit-breaker.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import type { BreakerConfig } from '../config/schema.js';
import type { PolicyFactory, PricedCandidate } from './route-resolver.js';

/** Process-wide upstream health: breakers, retry budgets and bulkheads per deployment. */
export interface Resilience {
  breakers: BreakerRegistry;
  /** Builds a route's attempt policy (once per route, at config time). */
  createPolicy: PolicyFactory;
}

/** Observers of upstream health (metrics); they must not throw. */
export interface ResilienceHooks {
  /** Every attempt's end, as the breakers see it. */
  onAttempt?: ((deployment: string, outcome: AttemptOutcome) => void) | undefined;
  onBreakerChange?: RegistryChangeListener | undefined;
}

/**
 * Upstream health state shared by every route of the process. Breakers and budgets are keyed by
 * deployment, so two aliases over one deployment see the same health.
 */
export function createResilience(defaults: BreakerConfig, clock: Clock, random: Random = Math.random, hooks: ResilienceHooks = {}): Resilience {
  const breakers = new BreakerRegistry(defaults, clock, { onChange: hooks.onBreakerChange });
  const onAttempt = hooks.onAttempt;
  const budgets = new Map<string, RetryBudget>();
  const bulkheads = new Map<string, Bulkhead>();

  const budgetFor = (candidate: PricedCandidate): RetryBudget => {
    let budget = budgets.get(candidate.deployment);
    if (!budget) {
      const { ratio, ratioWindowMs, ratioFloor } = candidate.retry;
      budgets.set(candidate.deployment, (budget = new RetryBudget({ ratio, windowMs: ratioWindowMs, floor: ratioFloor }, clock)));
    }
    return budget;
  };

  const createPolicy: PolicyFactory = ({ settings }) => {
    const bulkheadFor = (candidate: PricedCandidate): Bulkhead | undefined => {
      if (!settings.bulkhead) return undefined;
      let bulkhead = bulkheads.get(candidate.deployment);
      if (!bulkhead) bulkheads.set(candidate.deployment, (bulkhead = new Bulkhead(settings.bulkhead, clock)));
      return bulkhead;
    };
    const breakerFor = (candidate: PricedCandidate) => (candidate.breaker.enabled ? breakers.get(candidate.deployment, candidate.breaker) : undefined);

    /** Takes a breaker admission and a bulkhead slot, or says why not. */
    const admit = (candidate: PricedCandidate): 'allowed' | 'probe' | { skip: string } => {
      const breaker = breakerFor(candidate);
      const verdict = breaker ? breaker.tryAcquire() : 'allowed';
      if (verdict === 'rejected') return { skip: 'breaker_open' };
      const bulkhead = bulkheadFor(candidate);
      if (bulkhead && !bulkhead.tryEnter()) {
        if (verdict === 'probe') breaker?.release();
        return { skip: 'bulkhead_full' };
      }
      return verdict;
    };

    const policy: AttemptPolicy<PricedCandidate> = {
      maxAttempts: settings.retry.maxAttempts,
      maxAttemptsPerDeployment: (candidate) => candidate.retry.maxAttemptsPerDeployment,
      maxWaitMs: settings.retry.maxWaitMs,
      hedgeAfterMs: settings.hedgeAfterMs,
      maxSpendMicros: settings.retry.maxSpendMicros,
      costOf: (candidate, result) => {
        const usage = (result as { usage?: Usage }).usage;
        return usage ? candidate.price(usage).costMicros : 0;
      },
      admit,
      onFirstAttempt: (candidate) => budgetFor(candidate).recordAttempt(),
      allowRetry(candidate) {
        const admitted = admit(candidate);
        if (typeof admitted !== 'string') return false;
        if (budgetFor(candidate).tryAcquireRetry()) return true;
        // Budget spent: give the admission back and fail fast instead of hammering (SPEC UP-7).
        bulkheadFor(candidate)?.leave();
        if (admitted === 'probe') breakerFor(candidate)?.release();
        return false;
      },
      retryDelayMs(error, retryIndex, candidate) {
        const wait = retryWaitMs(error, retryIndex, candidate.retry, random);
        // After a 429 the breaker cools down; coming back earlier would only be refused.
        const cooling = error.code === 'rate_limited' ? (breakerFor(candidate)?.retryInMs() ?? 0) : 0;
        return Math.max(wait, cooling);
      },
      report(candidate, outcome) {
        onAttempt?.(candidate.deployment, outcome);
        bulkheadFor(candidate)?.leave();
        const breaker = breakerFor(candidate);
        if (!breaker) return;
        if (outcome.kind === 'success') breaker.onSuccess({ ttftMs: outcome.ttftMs });
        else if (outcome.kind === 'abandoned') breaker.release();
        else if (outcome.failure === 'rate_limited') breaker.onRateLimited(outcome.error.details.retryAfterMs);
        else breaker.onFailure(outcome.failure);
      },
    };
    return policy;
  };

  return { breakers, createPolicy };
}
