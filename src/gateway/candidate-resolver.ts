import { BreakwaterError } from '../core/errors.js';
import type { Candidate } from '../core/pipeline.js';
import type { AttemptTimeouts, ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest, Usage } from '../core/types.js';
import { listModels, resolveModel } from '../config/load-config.js';
import { computeCostMicros, pricesFor } from '../config/prices.js';
import type { Config } from '../config/schema.js';

/** A candidate that can also price its own usage. */
export interface PricedCandidate extends Candidate {
  price(usage: Usage): { costMicros: number; priceMissing: boolean };
  /** Request fields this deployment's wire format cannot carry (`x-breakwater-dropped-params`). */
  droppedParams(request: CanonicalRequest): string[];
}

/** The adapters of the configured providers. */
export interface ProviderRegistry {
  adapter(provider: string): ProviderAdapter | undefined;
  droppedParams(provider: string, request: CanonicalRequest): string[];
  close(): Promise<void>;
}

/** Turns a public model name into the candidates that can serve it. */
export interface CandidateResolver {
  resolve(model: string): readonly PricedCandidate[];
  /** Every public model name. */
  models(): string[];
  /** Adds names found by asking an upstream (discovery), for `/v1/models`. */
  addDiscovered(names: readonly string[]): void;
}

/**
 * Resolves model names against the configuration once per name and caches the result, so the
 * request path does a single Map lookup. A config reload builds a new resolver.
 */
export function createCandidateResolver(config: Config, registry: ProviderRegistry): CandidateResolver {
  const cache = new Map<string, readonly PricedCandidate[]>();
  let known = listModels(config);

  function build(model: string): readonly PricedCandidate[] {
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
      const providerTimeouts = config.providers[deployment.provider]?.timeouts;
      const timeouts: AttemptTimeouts = { ...config.routes.defaults.timeouts, ...providerTimeouts };
      candidates.push({
        deployment: `${deployment.provider}/${deployment.model}`,
        provider: deployment.provider,
        upstreamModel: deployment.model,
        adapter,
        timeouts,
        price: (usage) => computeCostMicros(usage, prices),
        droppedParams: (request) => registry.droppedParams(deployment.provider, request),
      });
    }
    return Object.freeze(candidates);
  }

  /**
   * `sim-fast@503` asks the simulator for a fault (SPEC SIM-10). The suffix is passed on only to
   * simulated deployments; suffixed names are not cached, so arbitrary client input cannot grow
   * the cache.
   */
  function withFaultSuffix(model: string): readonly PricedCandidate[] {
    const at = model.indexOf('@');
    const base = model.slice(0, at);
    const suffix = model.slice(at);
    const simulated = resolveCached(base).filter((c) => config.providers[c.provider]?.kind === 'sim');
    if (simulated.length === 0) {
      throw new BreakwaterError('model_not_found', `model '${base}' has no simulated deployment; '@' fault suffixes work only on sim models`, { param: 'model' });
    }
    return simulated.map((c) => ({ ...c, upstreamModel: c.upstreamModel + suffix }));
  }

  function resolveCached(model: string): readonly PricedCandidate[] {
    let candidates = cache.get(model);
    if (!candidates) {
      candidates = build(model);
      cache.set(model, candidates);
    }
    return candidates;
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
