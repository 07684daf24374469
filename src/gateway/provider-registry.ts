import type { Clock } from '../core/clock.js';
import type { ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest } from '../core/types.js';
import type { Config, ProviderConfig } from '../config/schema.js';
import { droppedAnthropicMessagesParams } from '../protocols/anthropic-messages.js';
import { droppedOpenAIChatParams } from '../protocols/openai-chat.js';
import { createAnthropicAdapter } from '../providers/anthropic.js';
import { createOpenAICompatibleAdapter } from '../providers/openai-compatible.js';
import { createOpenAIAdapter } from '../providers/openai.js';
import { createSimAdapter } from '../sim/sim-adapter.js';
import type { ProviderRegistry } from './route-resolver.js';

type DroppedParams = (request: CanonicalRequest) => string[];

const NOTHING_DROPPED: DroppedParams = () => [];

/** undici takes the connect timeout per pool, so it is the provider's (or the default) one. */
function connectMs(provider: ProviderConfig, config: Config): number {
  return provider.timeouts?.connectMs ?? config.routes.defaults.timeouts.connectMs;
}

interface ProviderKindEntry {
  create(name: string, provider: ProviderConfig, config: Config, clock: Clock): ProviderAdapter;
  droppedParams: DroppedParams;
}

/** How each provider kind is built and which request fields its wire format loses. */
const PROVIDER_KINDS: Readonly<Record<ProviderConfig['kind'], ProviderKindEntry>> = Object.freeze({
  openai: {
    create: (name, p, config) =>
      createOpenAIAdapter({ id: name, baseUrl: p.baseUrl, apiKey: p.apiKey, headers: p.headers, maxConnections: p.maxConnections, connectTimeoutMs: connectMs(p, config) }),
    droppedParams: droppedOpenAIChatParams,
  },
  'openai-compatible': {
    create: (name, p, config) =>
      createOpenAICompatibleAdapter({
        id: name,
        baseUrl: p.baseUrl ?? 'http://127.0.0.1:8000/v1',
        apiKey: p.apiKey,
        flavor: p.flavor,
        headers: p.headers,
        maxConnections: p.maxConnections,
        connectTimeoutMs: connectMs(p, config),
      }),
    droppedParams: droppedOpenAIChatParams,
  },
  anthropic: {
    create: (name, p, config) =>
      createAnthropicAdapter({
        id: name,
        baseUrl: p.baseUrl,
        apiKey: p.apiKey,
        apiVersion: p.apiVersion,
        headers: p.headers,
        maxConnections: p.maxConnections,
        connectTimeoutMs: connectMs(p, config),
      }),
    droppedParams: droppedAnthropicMessagesParams,
  },
  sim: {
    create: (name, _p, config, clock) => createSimAdapter({ id: name, seed: config.sim.seed, timeScale: config.sim.timeScale, clock }),
    droppedParams: NOTHING_DROPPED,
  },
});

/** Builds one adapter per configured provider. Adapters pool their connections until `close()`. */
export function createProviderRegistry(config: Config, clock: Clock): ProviderRegistry {
  const adapters = new Map<string, ProviderAdapter>();
  const dropped = new Map<string, DroppedParams>();
  for (const [name, provider] of Object.entries(config.providers)) {
    const kind = PROVIDER_KINDS[provider.kind];
    adapters.set(name, kind.create(name, provider, config, clock));
    dropped.set(name, kind.droppedParams);
  }
  return {
    adapter: (name) => adapters.get(name),
    droppedParams: (name, request) => (dropped.get(name) ?? NOTHING_DROPPED)(request),
    async close() {
      await Promise.allSettled([...adapters.values()].map((adapter) => adapter.close?.()));
    },
  };
}
