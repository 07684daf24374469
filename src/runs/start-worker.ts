import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import type { ProviderAdapter } from '../core/provider.js';
import { loadConfig, type ConfigOverrides } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { Gateway } from '../gateway/gateway.js';
import { LedgerWriter } from '../gateway/ledger-writer.js';
import { createProviderRegistry } from '../gateway/provider-registry.js';
import { createResilience } from '../gateway/resilience-policy.js';
import { createRouteResolver } from '../gateway/route-resolver.js';
import { checkConfiguredValidators, createValidation } from '../gateway/validation.js';
import type { SimScriptResolver } from '../sim/sim-script.js';
import type { Stores } from '../store/interfaces.js';
import { openStores } from '../store/stores.js';
import { StreamHub } from '../streaming/stream-hub.js';
import type { AgentDefinition } from './define-agent.js';
import { startRunRuntime, type RunRuntime } from './run-runtime.js';

/** How to start a worker without the HTTP front door. */
export interface StartWorkerOptions {
  config?: Config;
  configPath?: string;
  overrides?: ConfigOverrides;
  logger: Logger;
  clock?: Clock;
  agents?: readonly AgentDefinition[];
  /** Scripted replies of the sim models (the simulation sandbox). */
  simScripts?: SimScriptResolver;
  /** Wraps each provider adapter (the simulation sandbox's provider faults through a remote gateway). */
  decorateAdapter?: (adapter: ProviderAdapter) => ProviderAdapter;
}

/** A running worker process's parts. */
export interface RunningWorker {
  config: Config;
  stores: Stores;
  runtime: RunRuntime;
  close(): Promise<void>;
}

/**
 * `breakwater worker` (SPEC LR-10): the same stores and gateway pipeline as `breakwater start` —
 * a run's LLM calls get limits, routing, resilience and the ledger — but no HTTP server; it
 * claims runs of its agents from the shared store until stopped, then gives them back.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const config = options.config ?? loadConfig({ path: options.configPath, overrides: options.overrides });
  checkConfiguredValidators(config);
  if (!options.agents && !config.runs.agents) throw new Error('a worker needs agents: pass --agents ./agents.js or set runs.agents in the config');
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const stores = await openStores(config, { dataDir: resolve(config.server.dataDir) });
  const ledger = new LedgerWriter(stores.ledger, { onError: (err) => logger.error({ err }, 'ledger flush failed; will retry') });
  const registry = await createProviderRegistry(config, clock, { simScripts: options.simScripts, decorate: options.decorateAdapter });
  const resilience = createResilience(config.routes.defaults.breaker, clock);
  const resolver = createRouteResolver(config, registry, resilience.createPolicy);
  const gateway = new Gateway({ resolver, ledger, clock, validation: createValidation() });
  const hub = new StreamHub({ log: stores.events, clock, detachGraceMs: config.runs.detachGraceMs, retentionMs: config.stream.retentionMs, logger });
  const runtime = await startRunRuntime({ stores, hub, gateway: () => gateway, clock, config, logger, agents: options.agents });
  let closing: Promise<void> | undefined;
  return {
    config,
    stores,
    runtime,
    close() {
      closing ??= (async () => {
        await runtime.stop();
        await hub.close();
        await ledger.close();
        await registry.close();
        await stores.close();
      })();
      return closing;
    },
  };
}
