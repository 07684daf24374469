import type { Clock, Random } from '../core/clock.js';
import { newSortableId } from '../core/ids.js';
import { executeGenerate, type AttemptRecord, type PipelineContext } from '../core/pipeline.js';
import type { CanonicalRequest, CanonicalResponse, Usage } from '../core/types.js';
import type { Config } from '../config/schema.js';
import type { RequestContext } from '../gateway/gateway.js';
import { buildRequestRecord } from '../gateway/request-ledger.js';
import type { PricedCandidate, RouteResolver } from '../gateway/route-resolver.js';
import type { BreakerRegistry } from '../resilience/circuit-breaker.js';
import type { RequestRecord, RouteDecisionRecord } from '../store/interfaces.js';
import { createValidators, runValidators, type Validator } from '../validation/validators.js';
import { DeploymentStats } from './deployment-stats.js';
import { QualityGuard, type GuardAlert } from './quality-guard.js';
import { createRoutePlanner, type CompiledRule, type RoutePlan, type RoutePlanner } from './route-planner.js';

export type { RoutePlan } from './route-planner.js';

/** What routing needs from the process. */
export interface RoutingDeps {
  config: Config;
  resolver: RouteResolver;
  clock: Clock;
  random: Random;
  breakers?: BreakerRegistry | undefined;
  /** Writes a ledger record (shadow calls, billed to the platform). */
  record: (record: RequestRecord) => void;
  /** Alert events (the guard tripping). */
  alert: (alert: GuardAlert) => void;
}

/** Rules, balancing, tiers, shadowing and the regression guard, as the gateway sees them (SPEC M5). */
export interface Routing {
  plan(request: CanonicalRequest, ctx: RequestContext): RoutePlan;
  /**
   * After an answer was served: feeds latency and the guard, may start a shadow call, and returns
   * the ledger's view of the decision (undefined when no rule planned the request).
   */
  served(plan: RoutePlan, request: CanonicalRequest, ctx: RequestContext, candidate: PricedCandidate, attempts: readonly AttemptRecord[], usage: Usage, response: CanonicalResponse | undefined): RouteDecisionRecord | undefined;
  /** Shadow calls still running (tests wait for them). */
  idle(): Promise<void>;
  /** The guard's agreement per rule and deployment. */
  guards(): Record<string, ReturnType<QualityGuard['snapshot']>>;
  readonly planner: RoutePlanner;
}

/** The ledger's cost center for shadow traffic: never a tenant's budget. */
export const PLATFORM_COST_CENTER = 'platform';

/** Builds the routing of one configuration (a reload builds a new one). */
export function createRouting(deps: RoutingDeps): Routing {
  const stats = new DeploymentStats(deps.clock);
  const available = (candidate: PricedCandidate) => !candidate.breaker.enabled || !deps.breakers || deps.breakers.get(candidate.deployment, candidate.breaker).state !== 'open';
  const planner = createRoutePlanner({ rules: deps.config.routes.rules, resolver: deps.resolver, stats, random: deps.random, available });
  const guards = new Map<CompiledRule, { guard: QualityGuard; validators: Validator[] }>();
  for (const rule of planner.rules) {
    const shadow = rule.config.shadow;
    if (!shadow) continue;
    // What "a good answer" means for the guard: content, no refusal, and the rule's own checks.
    const configs = [{ type: 'refusal' as const }, ...(rule.config.validators ?? [])];
    guards.set(rule, { guard: new QualityGuard(rule.id, shadow), validators: createValidators(configs, { autoValidators: true, request: { model: rule.id, messages: [], stream: false } }) });
  }
  const running = new Set<Promise<void>>();

  const judge = async (validators: Validator[], response: CanonicalResponse, request: CanonicalRequest) => (await runValidators(validators, response, request)).ok;

  async function shadowCall(rule: CompiledRule, request: CanonicalRequest, ctx: RequestContext, served: PricedCandidate, answer: CanonicalResponse): Promise<void> {
    const { guard, validators } = guards.get(rule)!;
    const strong = rule.tiers[rule.tiers.length - 1]!;
    const requestId = newSortableId('req');
    const controller = new AbortController();
    const pipeline: PipelineContext<PricedCandidate> = {
      requestId,
      clock: deps.clock,
      signal: controller.signal,
      deadlineAt: deps.clock.now() + rule.route.deadlineMs,
      headers: ctx.upstreamHeaders,
      policy: rule.route.policy,
      streamUpstream: rule.route.streamUpstream,
    };
    // The shadow call is not the client's: it has its own signal and no client cancellation.
    const shadowCtx: RequestContext = { ...ctx, signal: controller.signal, cancel: undefined, requestId, receivedAt: performance.now(), receivedAtMs: Date.now(), key: { ...ctx.key, id: PLATFORM_COST_CENTER, orgId: undefined, teamId: undefined, userId: undefined }, warmth: undefined, response: undefined };
    let decision: RouteDecisionRecord = { rule: rule.id, strategy: 'ordered', tier: 'shadow', shadowOf: ctx.requestId, billedTo: PLATFORM_COST_CENTER };
    try {
      const outcome = await executeGenerate({ ...request, stream: false }, strong, pipeline);
      const agreed = (await judge(validators, answer, request)) || !(await judge(validators, outcome.response, request));
      decision = { ...decision, agreed };
      deps.record(buildRequestRecord(shadowCtx, { model: request.model, stream: false, candidate: outcome.candidate, attempts: outcome.attempts, status: 200, usage: outcome.response.usage, route: decision }));
      const alert = guard.record(served.deployment, agreed);
      if (alert) {
        if (alert.pinned) rule.pinned = true;
        deps.alert(alert);
      }
    } catch {
      // A failed shadow says nothing about the served answer; it is recorded and not judged.
      deps.record(buildRequestRecord(shadowCtx, { model: request.model, stream: false, attempts: 0, status: 502, usage: { inputTokens: 0, outputTokens: 0 }, route: decision }));
    }
  }

  return {
    planner,
    plan: (request, ctx) => planner.plan(request, ctx.key, ctx.tags),
    served(plan, request, ctx, candidate, attempts, usage, response) {
      const rule = plan.rule;
      if (!rule) return undefined;
      if (rule.config.strategy === 'latency' || rule.config.strategy === 'spillover') {
        for (const attempt of attempts) if (attempt.outcome === 'success' && attempt.deployment === candidate.deployment) stats.observe(candidate.deployment, attempt.endedAt - attempt.startedAt);
      }
      const { decision } = plan;
      const servedTier = rule.tierOf.get(candidate.deployment);
      const strong = rule.tiers.length > 1 ? rule.tiers[rule.tiers.length - 1]![0] : undefined;
      const record: RouteDecisionRecord = {
        rule: rule.id,
        strategy: decision.strategy,
        tier: decision.tier,
        score: decision.score,
        threshold: decision.threshold,
        pinned: decision.pinned,
        servedTier,
        strongCostMicros: strong?.price(usage).costMicros,
      };
      const shadow = rule.config.shadow;
      if (shadow && response && servedTier === 0 && !rule.pinned && deps.random() < shadow.share) {
        const call = shadowCall(rule, request, ctx, candidate, response).finally(() => running.delete(call));
        running.add(call);
      }
      return record;
    },
    async idle() {
      while (running.size > 0) await Promise.all(running);
    },
    guards() {
      const out: Record<string, ReturnType<QualityGuard['snapshot']>> = {};
      for (const [rule, { guard }] of guards) out[rule.id] = guard.snapshot();
      return out;
    },
  };
}
