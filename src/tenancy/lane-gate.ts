import type { Clock } from '../core/clock.js';
import type { RateLimitInfo } from '../core/types.js';
import type { LanesConfig } from '../config/schema.js';
import type { Lane } from '../store/interfaces.js';
import type { LimitLevel } from './limit-store.js';

/** Below this share of the upstream's window left, admission backs off (SPEC MT-10). */
const LOW_REMAINING = 0.1;
/** How far it backs off: the deployment's capacity drops by 20 %. */
const BACKOFF_FACTOR = 0.8;
/** How long a back-off lasts when the upstream names no reset time. */
const DEFAULT_BACKOFF_MS = 10_000;

interface Waiter {
  wake: () => void;
}

interface DeploymentGate {
  /** Levels by lane, without and with back-off; built once. */
  levels: Record<Lane, LimitLevel>;
  throttled: Record<Lane, LimitLevel>;
  throttledUntil: number;
  interactive: Waiter[];
  batch: Waiter[];
}

/**
 * Deployment capacity shared by lanes (SPEC MT-4, MT-10). Each configured deployment is one
 * limit level; a batch request may fill only `lanes.batchShare` of it, so the rest stays free for
 * interactive traffic. Requests that find no room wait here, interactive first, and are woken
 * when a request on the deployment settles.
 */
export class LaneGate {
  private readonly gates = new Map<string, DeploymentGate>();

  constructor(
    private readonly config: LanesConfig,
    private readonly clock: Clock,
  ) {
    for (const [deployment, capacity] of Object.entries(config.capacity)) {
      const level = (share: number): LimitLevel =>
        Object.freeze({
          id: `deployment:${deployment}`,
          kind: 'deployment',
          name: deployment,
          limits: Object.freeze({ rpm: capacity.rpm, concurrency: capacity.concurrency, inputTpm: capacity.tpm }),
          softThreshold: 1,
          share,
        });
      this.gates.set(deployment, {
        levels: { interactive: level(1), batch: level(config.batchShare) },
        throttled: { interactive: level(BACKOFF_FACTOR), batch: level(config.batchShare * BACKOFF_FACTOR) },
        throttledUntil: 0,
        interactive: [],
        batch: [],
      });
    }
  }

  /** The capacity level of a deployment for a lane, or undefined when the deployment is not gated. */
  levelFor(deployment: string, lane: Lane): LimitLevel | undefined {
    const gate = this.gates.get(deployment);
    if (!gate) return undefined;
    return this.clock.now() < gate.throttledUntil ? gate.throttled[lane] : gate.levels[lane];
  }

  /** How long a request of this lane may wait for room. */
  queueMs(lane: Lane): number {
    return lane === 'batch' ? this.config.batchQueueMs : this.config.interactiveQueueMs;
  }

  /**
   * Waits until woken by a settle on the deployment or `ms` passes; false when the queue is full.
   * A waiter that comes back (woken but still no room) goes to the front of its line.
   */
  async wait(deployment: string, lane: Lane, ms: number, again: boolean): Promise<boolean> {
    const gate = this.gates.get(deployment)!;
    if (!again && gate.interactive.length + gate.batch.length >= this.config.maxQueue) return false;
    const line = gate[lane];
    const timer = new AbortController();
    await new Promise<void>((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          timer.abort();
          resolve();
        },
      };
      if (again) line.unshift(waiter);
      else line.push(waiter);
      this.clock.sleep(ms, timer.signal).then(() => {
        const at = line.indexOf(waiter);
        if (at >= 0) line.splice(at, 1);
        resolve();
      }, () => {});
    });
    return true;
  }

  /** Requests waiting for room now, by lane, over every deployment. */
  queued(): Record<Lane, number> {
    const out: Record<Lane, number> = { interactive: 0, batch: 0 };
    for (const gate of this.gates.values()) {
      out.interactive += gate.interactive.length;
      out.batch += gate.batch.length;
    }
    return out;
  }

  /** Configured concurrency per lane, summed over gated deployments (batch gets its share). */
  concurrency(): Record<Lane, number> {
    const out: Record<Lane, number> = { interactive: 0, batch: 0 };
    for (const gate of this.gates.values()) {
      out.interactive += gate.levels.interactive.limits.concurrency ?? 0;
      out.batch += Math.floor((gate.levels.batch.limits.concurrency ?? 0) * (gate.levels.batch.share ?? 1));
    }
    return out;
  }

  /** A request on the deployment ended: the longest-waiting interactive request, else batch, tries again. */
  release(deployment: string): void {
    const gate = this.gates.get(deployment);
    if (!gate) return;
    (gate.interactive.shift() ?? gate.batch.shift())?.wake();
  }

  /** Reads an upstream's rate-limit headers: under 10 % left, the deployment backs off until the window resets. */
  observe(deployment: string, info: RateLimitInfo | undefined): void {
    const gate = info && this.gates.get(deployment);
    if (!gate || !info) return;
    const low = (remaining: number | undefined, limit: number | undefined) => remaining !== undefined && limit !== undefined && limit > 0 && remaining < limit * LOW_REMAINING;
    const requestsLow = low(info.remainingRequests, info.limitRequests);
    const tokensLow = low(info.remainingTokens, info.limitTokens);
    if (!requestsLow && !tokensLow && info.retryAfterMs === undefined) return;
    const resetMs = Math.max(requestsLow ? (info.resetRequestsMs ?? 0) : 0, tokensLow ? (info.resetTokensMs ?? 0) : 0, info.retryAfterMs ?? 0);
    gate.throttledUntil = Math.max(gate.throttledUntil, this.clock.now() + (resetMs || DEFAULT_BACKOFF_MS));
  }
}
