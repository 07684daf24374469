import type { Clock } from '../core/clock.js';
import type { ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest } from '../core/types.js';
import type { Config, ProviderConfig } from '../config/schema.js';
import { droppedAnthropicMessagesParams } from '../protocols/anthropic-messages.js';
import { droppedOpenAIChatParams } from '../protocols/openai-chat.js';
import type { SimScriptResolver } from '../sim/sim-script.js';
import type { UpstreamPoolOptions } from '../providers/upstream-http.js';
import { pingPeriodMs } from './keep-warm.js';
import type { ProviderRegistry } from './route-resolver.js';

type DroppedParams = (request: CanonicalRequest) => string[];

const NOTHING_DROPPED: DroppedParams = () => [];

/** undici takes the connect timeout per pool, so it is the provider's (or the default) one. */
function connectMs(provider: ProviderConfig, config: Config): number {
  return provider.timeouts?.connectMs ?? config.routes.defaults.timeouts.connectMs;
}

/** What a caller may add to the adapters it gets (the simulation sandbox scripts the sim models). */
export interface ProviderRegistryOptions {
  simScripts?: SimScriptResolver | undefined;
  /** Wraps each adapter built (the sandbox decides per attempt which simulator faults to ask for). */
  decorate?: ((adapter: ProviderAdapter) => ProviderAdapter) | undefined;
  /** Told how long each new upstream connection of a provider took to set up (SPEC CS-3 `initMs`). */
  onConnect?: ((provider: string, ms: number) => void) | undefined;
}

/**
 * An HTTP provider's pool settings: with keep-warm, idle connections outlive the ping interval
 * (when the server does not say otherwise), so the pings keep a connection, not just the upstream, warm.
 */
function poolOf(name: string, provider: ProviderConfig, clock: Clock, options: ProviderRegistryOptions): UpstreamPoolOptions {
  const onConnect = options.onConnect;
  return {
    keepAliveMs: provider.keepWarm ? pingPeriodMs(provider.keepWarm, clock.now()) + 5_000 : undefined,
    onConnect: onConnect && ((ms) => onConnect(name, ms)),
  };
}

type CreateAdapter = (name: string, provider: ProviderConfig, config: Config, clock: Clock, options: ProviderRegistryOptions) => ProviderAdapter;

interface ProviderKindEntry {
  /**
   * Imports the adapter module on first use: the HTTP adapters pull in undici, so a gateway with
   * only the sim provider never loads them (SPEC CS-1).
   */
  load(): Promise<CreateAdapter>;
  droppedParams: DroppedParams;
}

/** How each provider kind is built and which request fields its wire format loses. */
const PROVIDER_KINDS: Readonly<Record<ProviderConfig['kind'], ProviderKindEntry>> = Object.freeze({
  openai: {
    async load() {
      const { createOpenAIAdapter } = await import('../providers/openai.js');
      return (name, p, config, clock, options) =>
        createOpenAIAdapter({ id: name, baseUrl: p.baseUrl, apiKey: p.apiKey, headers: p.headers, maxConnections: p.maxConnections, connectTimeoutMs: connectMs(p, config), pool: poolOf(name, p, clock, options) });
    },
    droppedParams: droppedOpenAIChatParams,
  },
  'openai-compatible': {
    async load() {
      const { createOpenAICompatibleAdapter } = await import('../providers/openai-compatible.js');
      return (name, p, config, clock, options) =>
        createOpenAICompatibleAdapter({
          id: name,
          baseUrl: p.baseUrl ?? 'http://127.0.0.1:8000/v1',
          apiKey: p.apiKey,
          flavor: p.flavor,
          headers: p.headers,
          maxConnections: p.maxConnections,
          connectTimeoutMs: connectMs(p, config),
          pool: poolOf(name, p, clock, options),
        });
    },
    droppedParams: droppedOpenAIChatParams,
  },
  anthropic: {
    async load() {
      const { createAnthropicAdapter } = await import('../providers/anthropic.js');
      return (name, p, config, clock, options) =>
        createAnthropicAdapter({
          id: name,
          baseUrl: p.baseUrl,
          apiKey: p.apiKey,
          apiVersion: p.apiVersion,
          headers: p.headers,
          maxConnections: p.maxConnections,
          connectTimeoutMs: connectMs(p, config),
          pool: poolOf(name, p, clock, options),
        });
    },
    droppedParams: droppedAnthropicMessagesParams,
  },
  sim: {
    async load() {
      const { createSimAdapter } = await import('../sim/sim-adapter.js');
      return (name, _p, config, clock, options) => createSimAdapter({ id: name, seed: config.sim.seed, timeScale: config.sim.timeScale, clock, scripts: options.simScripts });
    },
    droppedParams: NOTHING_DROPPED,
  },
});

/**
 * Builds one adapter per configured provider, loading only the adapter modules of the kinds in
 * use. Adapters pool their connections until `close()`.
 */
export async function createProviderRegistry(config: Config, clock: Clock, options: ProviderRegistryOptions = {}): Promise<ProviderRegistry> {
  const providers = Object.entries(config.providers);
  const kinds = [...new Set(providers.map(([, provider]) => provider.kind))];
  const factories = new Map(await Promise.all(kinds.map(async (kind) => [kind, await PROVIDER_KINDS[kind].load()] as const)));
  const adapters = new Map<string, ProviderAdapter>();
  const dropped = new Map<string, DroppedParams>();
  for (const [name, provider] of providers) {
    const adapter = factories.get(provider.kind)!(name, provider, config, clock, options);
    adapters.set(name, options.decorate ? options.decorate(adapter) : adapter);
    dropped.set(name, PROVIDER_KINDS[provider.kind].droppedParams);
  }
  return {
    adapter: (name) => adapters.get(name),
    droppedParams: (name, request) => (dropped.get(name) ?? NOTHING_DROPPED)(request),
    async close() {
      await Promise.allSettled([...adapters.values()].map((adapter) => adapter.close?.()));
    },
  };
}
