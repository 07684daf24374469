import type { AttemptPolicy } from '../core/attempt-loop.js';
import type { Random } from '../core/clock.js';
import { ConfigError } from '../config/config-error.js';
import type { CanonicalRequest } from '../core/types.js';
import type { RoutingRule } from '../config/routing-schema.js';
import type { PricedCandidate, ResolvedRoute, RouteResolver } from '../gateway/route-resolver.js';
import type { KeyRecord } from '../store/interfaces.js';
import { balance, type BalancerDeps } from './balancer.js';
import { chooseTier, loadComplexityModel, scoreRequest } from './complexity-router.js';
import type { DeploymentStats } from './deployment-stats.js';
import { formatRouteHeader, type RouteDecision } from './route-decision.js';
import { compileMatch, type MatchInput, type RuleMatcher } from './rule-matcher.js';

/** Where one request goes: the route (validators, policy, deadline), its candidates in order and why. */
export interface RoutePlan {
  route: ResolvedRoute;
  candidates: readonly PricedCandidate[];
  decision: RouteDecision;
  /** The `x-breakwater-route` header. */
  header: string;
  /** The rule behind the plan, for tiers, shadowing and the guard. */
  rule?: CompiledRule | undefined;
}

/** A rule compiled at config time: its matcher, its tiers of candidates and the composite route. */
export interface CompiledRule {
  id: string;
  config: RoutingRule;
  match: RuleMatcher;
  /** Tiers cheapest first; `targets` rules have one. */
  tiers: readonly (readonly PricedCandidate[])[];
  /** The tier of each deployment. */
  tierOf: ReadonlyMap<string, number>;
  route: ResolvedRoute;
  /** Candidates in tier order, and strong-first (complexity's strong choice, or pinned). */
  weakFirst: readonly PricedCandidate[];
  strongFirst: readonly PricedCandidate[];
  threshold?: number | undefined;
  /** Set by the regression guard (SPEC RT-5). */
  pinned: boolean;
  /** Every model name the rule may send to, checked against a key's allow-list (SPEC MT-8). */
  targetNames: readonly string[];
  /** Plans that need no per-request work, built once. */
  fixedWeak: RoutePlan;
  fixedStrong: RoutePlan;
}

/** What the planner needs from the process. */
export interface PlannerDeps {
  rules: readonly RoutingRule[];
  resolver: RouteResolver;
  stats: DeploymentStats;
  random: Random;
  /** False when a deployment's breaker is open (balancing chooses among the others). */
  available: (candidate: PricedCandidate) => boolean;
}

/** Plans each request's route: first matching rule, else the requested model's own route. */
export interface RoutePlanner {
  plan(request: CanonicalRequest, key: KeyRecord, tags: Record<string, string> | undefined): RoutePlan;
  /** The compiled rules, in order. */
  readonly rules: readonly CompiledRule[];
}

/** Keeps in-flight counts per deployment around a route's policy (least_inflight, latency). */
function trackedPolicy(policy: AttemptPolicy<PricedCandidate>, stats: DeploymentStats): AttemptPolicy<PricedCandidate> {
  return {
    ...policy,
    admit(candidate) {
      const verdict = policy.admit(candidate);
      if (typeof verdict === 'string') stats.begin(candidate.deployment);
      return verdict;
    },
    allowRetry(candidate) {
      const allowed = policy.allowRetry(candidate);
      if (allowed) stats.begin(candidate.deployment);
      return allowed;
    },
    report(candidate, outcome) {
      policy.report(candidate, outcome);
      stats.end(candidate.deployment);
    },
  };
}

/** The model names a rule's targets, tiers or cascade steps name. */
function targetNamesOf(rule: RoutingRule): string[] {
  const names = new Set<string>();
  for (const entry of rule.targets ?? []) names.add(typeof entry === 'string' ? entry : entry.target);
  for (const name of [...(rule.complexity?.weak ?? []), ...(rule.complexity?.strong ?? []), ...(rule.cascade ?? []).flat()]) names.add(name);
  return [...names];
}

/** True when the key has no allow-list or it names every one of `names`. */
function allowsAll(key: KeyRecord, names: readonly string[]): boolean {
  const allowed = key.allowedModels;
  return allowed === undefined || names.every((name) => allowed.includes(name));
}

function resolveTargets(resolver: RouteResolver, rule: RoutingRule, names: readonly (string | { target: string; weight: number })[]): { routes: ResolvedRoute[]; candidates: PricedCandidate[] } {
  const routes: ResolvedRoute[] = [];
  const candidates: PricedCandidate[] = [];
  for (const entry of names) {
    const name = typeof entry === 'string' ? entry : entry.target;
    let route: ResolvedRoute;
    try {
      route = resolver.resolve(name);
    } catch (error) {
      throw new ConfigError([{ path: ['routes', 'rules', rule.id], message: `target '${name}' does not resolve: ${(error as Error).message}`, hint: 'name a model alias or a provider/model' }]);
    }
    routes.push(route);
    for (const candidate of route.candidates) {
      if (candidates.some((c) => c.deployment === candidate.deployment)) continue;
      candidates.push(typeof entry === 'string' ? candidate : { ...candidate, weight: entry.weight });
    }
  }
  return { routes, candidates };
}

function compileRule(rule: RoutingRule, deps: PlannerDeps): CompiledRule {
  const tierNames: (readonly (string | { target: string; weight: number })[])[] = rule.targets
    ? [rule.targets]
    : rule.complexity
      ? [rule.complexity.weak, rule.complexity.strong]
      : rule.cascade!;
  const resolved = tierNames.map((names) => resolveTargets(deps.resolver, rule, names));
  const tierOf = new Map<string, number>();
  const tiers = resolved.map((tier, index) => {
    const own = tier.candidates.filter((c) => !tierOf.has(c.deployment));
    for (const candidate of own) tierOf.set(candidate.deployment, index);
    return Object.freeze(own);
  });
  const weakFirst = Object.freeze(tiers.flat());
  const strongFirst = Object.freeze([...tiers[tiers.length - 1]!, ...tiers.slice(0, -1).flat()]);
  const base = resolved[0]!.routes[0]!;
  const balanced = rule.strategy === 'least_inflight' || rule.strategy === 'latency' || rule.strategy === 'spillover';
  const route: ResolvedRoute = {
    ...base,
    model: rule.id,
    candidates: weakFirst,
    policy: balanced ? trackedPolicy(base.policy, deps.stats) : base.policy,
    validators: rule.validators ?? base.validators,
  };
  const threshold = rule.complexity ? (rule.complexity.threshold ?? loadComplexityModel().threshold) : undefined;
  const fixed = (candidates: readonly PricedCandidate[], decision: RouteDecision): RoutePlan => ({ route, candidates, decision, header: formatRouteHeader(decision, rule.id) });
  const compiled: CompiledRule = {
    id: rule.id,
    config: rule,
    match: compileMatch(rule.match),
    tiers,
    tierOf,
    route,
    weakFirst,
    strongFirst,
    threshold,
    targetNames: targetNamesOf(rule),
    pinned: false,
    fixedWeak: fixed(weakFirst, { rule: rule.id, strategy: rule.strategy, tier: rule.cascade ? '0' : undefined }),
    fixedStrong: fixed(strongFirst, { rule: rule.id, strategy: rule.strategy, tier: 'strong', pinned: true }),
  };
  compiled.fixedWeak.rule = compiled;
  compiled.fixedStrong.rule = compiled;
  return compiled;
}

/**
 * Compiles the rules once (targets resolved, matchers built, fixed plans made) so planning a
 * request is a walk over closures plus, for complexity rules, one score.
 */
export function createRoutePlanner(deps: PlannerDeps): RoutePlanner {
  const rules = deps.rules.map((rule) => compileRule(rule, deps));
  const defaults = new WeakMap<ResolvedRoute, RoutePlan>();
  const baseBalancer: BalancerDeps = { stats: deps.stats, random: deps.random, available: (c) => deps.available(c as PricedCandidate) };

  const balancerOf = new Map(rules.map((rule) => [rule, rule.config.spillover ? { ...baseBalancer, spillover: rule.config.spillover } : baseBalancer]));

  const planRule = (rule: CompiledRule, request: CanonicalRequest): RoutePlan => {
    if (rule.pinned) return rule.fixedStrong;
    const { config } = rule;
    const balancer = balancerOf.get(rule)!;
    if (config.complexity) {
      const score = scoreRequest(request);
      const tier = chooseTier(score, rule.threshold);
      const ordered = tier === 'strong' ? rule.strongFirst : rule.weakFirst;
      const pool = rule.tiers[tier === 'strong' ? 1 : 0]!.length;
      const decision: RouteDecision = { rule: rule.id, strategy: config.strategy, score, threshold: rule.threshold, tier };
      return { route: rule.route, candidates: balance(config.strategy, ordered, pool, balancer), decision, header: formatRouteHeader(decision, rule.id), rule };
    }
    if (config.strategy === 'ordered') return rule.fixedWeak;
    const candidates = balance(config.strategy, rule.weakFirst, rule.tiers[0]!.length, balancer);
    return { ...rule.fixedWeak, candidates };
  };

  return {
    rules,
    plan(request, key, tags) {
      if (rules.length > 0) {
        const input: MatchInput = { request, key, tags };
        const features = {};
        // A rule that could send the request to a model the key may not use is not its rule.
        for (const rule of rules) if (rule.match(input, features) && allowsAll(key, rule.targetNames)) return planRule(rule, request);
      }
      const route = deps.resolver.resolve(request.model);
      let plan = defaults.get(route);
      if (!plan) {
        const decision: RouteDecision = { strategy: 'ordered' };
        defaults.set(route, (plan = { route, candidates: route.candidates, decision, header: formatRouteHeader(decision, route.model) }));
      }
      return plan;
    },
  };
}
