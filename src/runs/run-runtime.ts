import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/gateway.js';
import type { KeyRecord, Stores } from '../store/interfaces.js';
import type { StreamHub } from '../streaming/stream-hub.js';
import { AgentRegistry, loadAgents } from './agent-registry.js';
import type { AgentDefinition } from './define-agent.js';
import { RunService } from './run-service.js';
import { RunWorker } from './run-worker.js';

/** How to host runs in a process. */
export interface RunRuntimeOptions {
  stores: Stores;
  hub: StreamHub;
  gateway: () => Gateway;
  clock: Clock;
  config: Config;
  logger?: Logger | undefined;
  /** Agents given in code (tests, embedding); otherwise `runs.agents` names a module. */
  agents?: readonly AgentDefinition[] | undefined;
}

/** The run service, and the worker when this process hosts agents. */
export interface RunRuntime {
  service: RunService;
  worker: RunWorker | undefined;
  agents: AgentRegistry;
  stop(): Promise<void>;
}

/** The key a run acts as, while it is still valid (SPEC LR-16). */
function keyLookup(stores: Stores, clock: Clock): (id: string) => Promise<KeyRecord | undefined> {
  return async (id) => {
    const key = await stores.keys.getKey(id);
    if (!key || key.revokedAt !== undefined || (key.expiresAt !== undefined && key.expiresAt <= clock.now())) return undefined;
    return key;
  };
}

/**
 * Starts the run machinery of a process: always the service behind `/v1/runs`; a worker too when
 * agents are hosted here (`breakwater start --agents`, `breakwater worker`).
 */
export async function startRunRuntime(options: RunRuntimeOptions): Promise<RunRuntime> {
  const { stores, hub, clock, config, logger } = options;
  const settings = { ...config.runs, retentionMs: config.stream.retentionMs };
  const agents = options.agents ? new AgentRegistry(options.agents) : config.runs.agents ? await loadAgents(config.runs.agents) : new AgentRegistry();
  let worker: RunWorker | undefined;
  if (agents.size > 0) {
    worker = new RunWorker({
      store: stores.runs,
      hub,
      clock,
      settings,
      gateway: options.gateway,
      keyFor: keyLookup(stores, clock),
      logger,
      agents,
      pollMs: settings.pollMs,
      concurrency: settings.concurrency,
    });
    await worker.start();
    logger?.info({ agents: agents.names, owner: worker.owner }, 'run worker started');
  }
  const service = new RunService({ store: stores.runs, clock, agents, worker });
  return {
    service,
    worker,
    agents,
    async stop() {
      await worker?.stop();
    },
  };
}
