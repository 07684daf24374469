import type { RunStore } from './interfaces.js';

const MESSAGE = 'durable runs need store.kind sqlite (or memory) until the PostgreSQL run store lands';

/**
 * The run store of a backend that has none yet: creating or reading a run fails with a message
 * saying so, and workers find nothing to claim, so the rest of the gateway serves normally.
 */
export function createUnsupportedRunStore(): RunStore {
  const refuse = async (): Promise<never> => {
    throw new Error(MESSAGE);
  };
  return new Proxy({} as RunStore, {
    get(_target, name) {
      if (name === 'claimRun') return async () => undefined;
      if (name === 'cancelRequested' || name === 'listRuns') return async () => [];
      if (name === 'countRunsByStatus') return async () => ({});
      if (name === 'registerAgents') return async () => {};
      if (name === 'then') return undefined;
      return refuse;
    },
  });
}
