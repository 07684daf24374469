import cluster, { type Worker } from 'node:cluster';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';

/** What a worker tells the primary once it listens. */
export interface WorkerReady {
  event: 'worker-ready';
  url: string;
  adminKey?: string | undefined;
  virtualKey?: string | undefined;
}

/**
 * With more than one process, every piece of state the processes must agree on (limits, stream
 * logs, idempotency keys) has to live outside them (SPEC STO-3): refuse to start otherwise, naming
 * what is missing.
 */
export function checkSharedForWorkers(config: Config, workers: number): void {
  if (workers <= 1) return;
  const issues = [];
  if (config.shared.redis === undefined) {
    issues.push({
      path: ['shared', 'redis'],
      message: `--workers ${workers} needs shared state, but limits, stream logs and idempotency keys are process-local without shared.redis`,
      hint: 'set shared.redis (e.g. redis://127.0.0.1:6379) or start one worker',
    });
  }
  if (config.store.kind === 'memory') {
    issues.push({ path: ['store', 'kind'], message: `--workers ${workers} cannot share a memory store`, hint: 'use sqlite (one file, shared by the workers) or postgres' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

/**
 * The cluster primary (SPEC STO-3): forks `count` workers sharing one port. The first starts
 * alone so it alone bootstraps keys and the pepper; the rest follow once it listens. SIGTERM and
 * SIGINT are passed on, and the primary exits once every worker drained. Resolves with the first
 * worker's ready message.
 */
export async function runWorkerPrimary(count: number): Promise<WorkerReady> {
  const workers: Worker[] = [];
  const fork = () =>
    new Promise<WorkerReady>((resolve, reject) => {
      const worker = cluster.fork();
      workers.push(worker);
      worker.on('message', (message: WorkerReady) => {
        if (message?.event === 'worker-ready') resolve(message);
      });
      worker.once('exit', (code) => reject(new Error(`worker ${worker.process.pid} exited with ${code} before it was ready`)));
    });
  const first = await fork();
  await Promise.all(Array.from({ length: count - 1 }, fork));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of workers) worker.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let failed = false;
  let left = workers.length;
  for (const worker of workers) {
    worker.on('exit', (code) => {
      // A worker dying on its own takes the service down with it: the supervisor restarts the whole.
      if (code !== 0) failed = true;
      if (!stopping && code !== 0) stop('SIGTERM');
      if (--left === 0) process.exit(failed ? 1 : 0);
    });
  }
  return first;
}

/** True in a worker forked by {@link runWorkerPrimary}. */
export const isWorker = () => cluster.isWorker;

/** Tells the primary this worker listens. */
export function reportWorkerReady(ready: WorkerReady): void {
  process.send?.(ready);
}
