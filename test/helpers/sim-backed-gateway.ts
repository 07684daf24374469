import { startSimServer } from '../../src/sim/sim-server.js';
import type { SimJournalEntry } from '../../src/sim/sim-journal.js';
import { startTestGateway, type TestGateway } from './test-gateway.js';

/** A gateway whose upstream is a real `sim serve` HTTP server in this process. */
export interface SimBackedGateway {
  gateway: TestGateway;
  sim: Awaited<ReturnType<typeof startSimServer>>;
  /** Calls the upstream received, oldest first. */
  journal(): SimJournalEntry[];
  clearJournal(): void;
  close(): Promise<void>;
}

/** Starts `sim serve` on an ephemeral port, then a gateway configured by `configYaml(simUrl)`. */
export async function startSimBackedGateway(options: {
  seed: number;
  timeScale: number;
  configYaml?: (simUrl: string) => string;
  env?: (simUrl: string) => Record<string, string>;
}): Promise<SimBackedGateway> {
  const sim = await startSimServer({ port: 0, host: '127.0.0.1', seed: options.seed, timeScale: options.timeScale });
  const gateway = await startTestGateway({ configYaml: options.configYaml?.(sim.url), env: options.env?.(sim.url) });
  return {
    gateway,
    sim,
    journal: () => sim.engine.getJournal(),
    clearJournal: () => sim.engine.clearJournal(),
    async close() {
      await gateway.close();
      await sim.close();
    },
  };
}
