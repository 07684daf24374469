import type { AttemptPolicy } from '../core/attempt-loop.js';
import { BreakwaterError } from '../core/errors.js';
import type { Candidate } from '../core/pipeline.js';
import type { AttemptTimeouts, ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest, Usage } from '../core/types.js';
import { listModels, resolveModel } from '../config/load-config.js';
import { computeCostMicros, pricesFor } from '../config/prices.js';
import type { BreakerConfig, Config, ResilienceConfig, RetryConfig, ValidatorConfig } from '../config/schema.js';

/** A candidate with everything the request path needs to call, price and judge it. */
export interface PricedCandidate extends Candidate {
  price(usage: Usage): { costMicros: number; priceMissing: boolean };
  /** Request fields this deployment's wire format cannot carry (`x-breakwater-dropped-params`). */
  droppedParams(request: CanonicalRequest): string[];
  /** Effective retry settings: route defaults < alias < deployment. */
  retry: RetryConfig;
  /** Effective breaker settings: route defaults < alias. */
  breaker: BreakerConfig;
  /** The deployment's configured weight, for weighted balancing. */
  weight: number;
}

/** A model name resolved to its candidates and policies, built once per name. */
export interface ResolvedRoute {
  model: string;
  candidates: readonly PricedCandidate[];
  policy: AttemptPolicy<PricedCandidate>;
  validators: readonly ValidatorConfig[];
  autoValidators: boolean;
  deadlineMs: number;
  streamUpstream: boolean;
  /** Degeneration guard settings, when the alias turns it on. */
  degeneration: ResilienceConfig['degeneration'];
}

/** The adapters of the configured providers. */
export interface ProviderRegistry {
  adapter(provider: string): ProviderAdapter | undefined;
  droppedParams(provider: string, request: CanonicalRequest): string[];
  close(): Promise<void>;
}

/** Builds the attempt policy of a route from its candidates and settings (the resilience module). */
export type PolicyFactory = (route: { model: string; candidates: readonly PricedCandidate[]; settings: RouteSettings }) => AttemptPolicy<PricedCandidate>;

/** The effective resilience settings of one alias. */
export interface RouteSettings {
  retry: RetryConfig;
  breaker: BreakerConfig;
  hedgeAfterMs?: number | undefined;
  bulkhead?: ResilienceConfig['bulkhead'];
}

/** Turns a public model name into the route that serves it. */
export interface RouteResolver {
  resolve(model: string): ResolvedRoute;
  /** Every public model name. */
  models(): string[];
  /** Adds names found by asking an upstream (discovery), for `/v1/models`. */
  addDiscovered(names: readonly string[]): void;
}

function aliasSettings(config: Config, model: string): ResilienceConfig {
  const entry = Object.hasOwn(config.models, model) ? config.models[model] : undefined;
  return entry && typeof entry === 'object' ? entry : {};
}

/**
 * Resolves model names against the configuration once per name and caches the route, so the
 * request path does a single Map lookup and policies are composed at config time. A config
 * reload builds a new resolver.
 */
export function createRouteResolver(config: Config, registry: ProviderRegistry, createPolicy: PolicyFactory): RouteResolver {
  const cache = new Map<string, ResolvedRoute>();
  const defaults = config.routes.defaults;
  let known = listModels(config);

  function candidatesFor(model: string, settings: ResilienceConfig, retry: RetryConfig, breaker: BreakerConfig): PricedCandidate[] {
    const resolved = resolveModel(config, model);
    if (!resolved) {
      const hint = known.slice(0, 12).join(', ');
      throw new BreakwaterError('model_not_found', `unknown model '${model}'; known: ${hint}${known.length > 12 ? ', …' : ''}; add it under models: in breakwater.yaml`, {
        param: 'model',
      });
    }
    const candidates: PricedCandidate[] = [];
    for (const deployment of resolved.deployments) {
      const adapter = registry.adapter(deployment.provider);
      if (!adapter) continue;
      const prices = pricesFor(config, deployment);
      const timeouts: AttemptTimeouts = { ...defaults.timeouts, ...config.providers[deployment.provider]?.timeouts, ...settings.timeouts };
      candidates.push({
        deployment: `${deployment.provider}/${deployment.model}`,
        provider: deployment.provider,
        upstreamModel: deployment.model,
        adapter,
        timeouts,
        retry: { ...retry, ...deployment.retry },
        breaker,
        weight: deployment.weight,
        price: (usage) => computeCostMicros(usage, prices),
        droppedParams: (request) => registry.droppedParams(deployment.provider, request),
      });
    }
    return candidates;
  }

  function build(model: string): ResolvedRoute {
    const settings = aliasSettings(config, model);
    const retry: RetryConfig = { ...defaults.retry, ...settings.retry };
    const breaker: BreakerConfig = { ...defaults.breaker, ...settings.breaker };
    const candidates = candidatesFor(model, settings, retry, breaker);
    if (settings.contextFallback) {
      // A larger-context alias tried after a context_length_exceeded (one level, no cycles).
      const fallback = aliasSettings(config, settings.contextFallback);
      const more = candidatesFor(settings.contextFallback, fallback, { ...defaults.retry, ...fallback.retry }, { ...defaults.breaker, ...fallback.breaker });
      for (const candidate of more) if (!candidates.some((c) => c.deployment === candidate.deployment)) candidates.push(candidate);
    }
    Object.freeze(candidates);
    const routeSettings: RouteSettings = { retry, breaker, hedgeAfterMs: settings.hedge?.afterMs, bulkhead: settings.bulkhead };
    return {
      model,
      candidates,
      policy: createPolicy({ model, candidates, settings: routeSettings }),
      validators: [...defaults.validators, ...(settings.validators ?? [])],
      autoValidators: settings.autoValidators ?? defaults.autoValidators,
      deadlineMs: settings.deadlineMs ?? defaults.deadlineMs,
      streamUpstream: settings.streamUpstream ?? defaults.streamUpstream,
      degeneration: settings.degeneration,
    };
  }

  /**
   * `sim-fast@503` asks the simulator for a fault (SPEC SIM-10). The suffix is passed on only to
   * simulated deployments; suffixed names are not cached, so arbitrary client input cannot grow
   * the cache.
   */
  function withFaultSuffix(model: string): ResolvedRoute {
    const at = model.indexOf('@');
    const base = resolveCached(model.slice(0, at));
    const suffix = model.slice(at);
    const simulated = base.candidates.filter((c) => config.providers[c.provider]?.kind === 'sim');
    if (simulated.length === 0) {
      throw new BreakwaterError('model_not_found', `model '${base.model}' has no simulated deployment; '@' fault suffixes work only on sim models`, { param: 'model' });
    }
    return { ...base, candidates: simulated.map((c) => ({ ...c, upstreamModel: c.upstreamModel + suffix })) };
  }

  function resolveCached(model: string): ResolvedRoute {
    let route = cache.get(model);
    if (!route) {
      route = build(model);
      cache.set(model, route);
    }
    return route;
  }

  return {
    resolve(model) {
      if (model.includes('@') && !cache.has(model) && !resolveModel(config, model)) return withFaultSuffix(model);
      return resolveCached(model);
    },
    models: () => known,
    addDiscovered(names) {
      known = [...new Set([...known, ...names])];
    },
  };
}
