import type { Clock } from '../core/clock.js';

/** Live load of one deployment: requests in flight and a peak EWMA of time to first token. */
interface Load {
  inFlight: number;
  /** Peak EWMA in ms; 0 until the first sample, so an unmeasured deployment gets tried. */
  ttftMs: number;
  at: number;
}

/**
 * In-flight counts and latency per deployment, shared by every route of the process (two aliases
 * over one deployment see the same load). The latency is a peak EWMA (Finagle's): a slower sample
 * is taken at once, a faster one decays in with `halfLifeMs`, so a degrading deployment loses
 * traffic immediately and a recovering one wins it back gradually.
 */
export class DeploymentStats {
  private readonly loads = new Map<string, Load>();

  constructor(
    private readonly clock: Clock,
    private readonly halfLifeMs = 10_000,
  ) {}

  private load(deployment: string): Load {
    let load = this.loads.get(deployment);
    if (!load) this.loads.set(deployment, (load = { inFlight: 0, ttftMs: 0, at: 0 }));
    return load;
  }

  /** An attempt on the deployment starts. */
  begin(deployment: string): void {
    this.load(deployment).inFlight++;
  }

  /** An attempt on the deployment ended (any outcome). */
  end(deployment: string): void {
    const load = this.load(deployment);
    if (load.inFlight > 0) load.inFlight--;
  }

  /** A time-to-first-token (or whole-answer latency for unstreamed upstreams) sample. */
  observe(deployment: string, ms: number): void {
    const load = this.load(deployment);
    const now = this.clock.now();
    if (load.at === 0 || ms >= load.ttftMs) load.ttftMs = ms;
    else load.ttftMs += (ms - load.ttftMs) * (1 - 2 ** (-(now - load.at) / this.halfLifeMs));
    load.at = now;
  }

  inFlight(deployment: string): number {
    return this.loads.get(deployment)?.inFlight ?? 0;
  }

  /** The peak EWMA of TTFT in ms (0 when never measured). */
  ttftMs(deployment: string): number {
    return this.loads.get(deployment)?.ttftMs ?? 0;
  }
}
