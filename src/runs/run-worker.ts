import { newId } from '../core/ids.js';
import type { AgentRegistry } from './agent-registry.js';
import { RunExecution, type ExecutionDeps } from './run-execution.js';

/** Settings of a {@link RunWorker}. */
export interface RunWorkerOptions extends ExecutionDeps {
  agents: AgentRegistry;
  /** How often to look for runnable runs and cancel requests. */
  pollMs: number;
  /** Runs executed at once. */
  concurrency: number;
  /** A stable id for logs; a fresh `wrk_…` otherwise. */
  owner?: string;
}

/**
 * Claims and executes runs of the agents it hosts (SPEC §2.3). Recovery is continuous: every poll
 * claims what is runnable — queued runs, runs whose owner stopped renewing its lease, parked runs
 * whose timer is due or whose signal arrived — so a crashed worker's runs resume on any other
 * within a lease. Cancel requests for the runs it owns are read every poll, so a cancel sent to
 * any replica reaches the owner within `pollMs`.
 */
export class RunWorker {
  readonly owner: string;
  private readonly executions = new Map<string, RunExecution>();
  private stopped = false;
  private wakeController = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly options: RunWorkerOptions) {
    this.owner = options.owner ?? newId('wrk');
  }

  /** Registers the hosted agents in the store and starts polling. */
  async start(): Promise<void> {
    await this.options.store.registerAgents(this.options.agents.descriptors(), this.options.clock.now());
    this.loop = this.poll();
  }

  /** Number of runs executing here now. */
  get activeCount(): number {
    return this.executions.size;
  }

  /** Polls now rather than at the next tick (a run was created or signalled in this process). */
  wake(): void {
    this.wakeController.abort();
  }

  /** Stops a run executing here at its next step boundary; false when it is not here. */
  cancelLocal(runId: string): boolean {
    const execution = this.executions.get(runId);
    execution?.stop('cancel');
    return execution !== undefined;
  }

  /** Stops claiming, gives every run back (their next owner resumes them) and waits for that. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
    const running = [...this.executions.values()];
    for (const execution of running) execution.stop('shutdown');
    await Promise.all(running.map((execution) => execution.done));
  }

  private async poll(): Promise<void> {
    const { clock, logger } = this.options;
    while (!this.stopped) {
      try {
        await this.claimAll();
        await this.readCancels();
      } catch (error) {
        logger?.error({ err: error }, 'run worker poll failed; retrying');
      }
      if (this.stopped) break;
      if (this.wakeController.signal.aborted) {
        // Woken while claiming: look again at once.
        this.wakeController = new AbortController();
        continue;
      }
      await clock.sleep(this.options.pollMs, this.wakeController.signal).catch(() => {});
    }
  }

  private async claimAll(): Promise<void> {
    const { store, clock, settings, agents, concurrency } = this.options;
    while (!this.stopped && this.executions.size < concurrency) {
      const run = await store.claimRun({ owner: this.owner, agents: agents.names, now: clock.now(), leaseMs: settings.leaseMs });
      if (!run) return;
      const agent = agents.get(run.agent)!;
      const execution = new RunExecution(this.options, run, agent);
      this.executions.set(run.id, execution);
      void execution.done.finally(() => {
        if (this.executions.get(run.id) === execution) this.executions.delete(run.id);
        // A slot freed: there may be more to claim.
        if (!this.stopped) this.wake();
      });
    }
  }

  private async readCancels(): Promise<void> {
    if (this.executions.size === 0) return;
    for (const id of await this.options.store.cancelRequested([...this.executions.keys()])) this.executions.get(id)?.stop('cancel');
  }
}
