import type { RunningWorker } from '../runs/start-worker.js';
import { startWorker } from '../runs/start-worker.js';
import { loadScenario } from './load-scenario.js';
import { GATEWAY_ENV, episodeConfig, episodeWorker, importAgent, silentLogger } from './sim-episode.js';
import { gatewayModelSchema } from './scenario-schema.js';
import { openWorldStore } from './world-store.js';
import { createWorldTools } from './world-tools.js';

/** What `breakwater sim worker` (spawned by crash trials) is given. */
export interface SimWorkerOptions {
  scenario: string;
  world: string;
  dataDir: string;
  seed: number;
  /** The agent's export, when not the scenario's (a variant under test). */
  export?: string | undefined;
}

/**
 * A worker process of a crash trial: the scenario's agent with the world file's fakes, on the
 * trial's SQLite store. Right after the named tool performed its effect — before the step is
 * checkpointed — it SIGKILLs itself, the worst moment for a duplicate (SPEC SIM-15). The crash
 * counter lives in the world file, so the replacement worker does not crash again.
 */
export async function startSimWorker(options: SimWorkerOptions): Promise<RunningWorker> {
  const loaded = loadScenario(options.scenario);
  if (options.export) loaded.scenario.agent.export = options.export;
  const gateway = process.env[GATEWAY_ENV];
  if (gateway) loaded.scenario.model.gateway = gatewayModelSchema.parse(JSON.parse(gateway));
  const agent = await importAgent(loaded);
  const world = openWorldStore(options.world);
  const crash = loaded.scenario.faults.crash;
  const tools = createWorldTools({
    scenario: loaded.scenario,
    world,
    seed: options.seed,
    afterEffect: (tool) => {
      if (crash && tool === crash.afterTool && world.count('crash') <= crash.times) process.kill(process.pid, 'SIGKILL');
    },
  });
  return startWorker({ config: episodeConfig(loaded, options.dataDir, options.seed, 'sqlite'), logger: silentLogger, ...episodeWorker(loaded, agent, tools, options.seed) });
}
