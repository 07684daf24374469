import type { Clock } from '../core/clock.js';

/** Whether one request found its upstream warm, and where its one-off init work starts counting. */
export interface WarmthClaim {
  readonly cold: boolean;
  readonly provider: string;
  /** {@link Warmth.initTotal} of the provider when the request claimed it. */
  readonly initMark: number;
}

/** Request counters the idle warm-up reads between its checks (SPEC CS-2). */
export interface Traffic {
  /** Requests being handled now. */
  readonly inFlight: number;
  /** Requests received since start; only grows. */
  readonly started: number;
}

/**
 * LLM calls through the gateway, whoever makes them: HTTP clients, but also runs and background
 * responses, which the HTTP server never sees once their `202` went out. A call is in flight from
 * the moment the gateway takes it until its answer, or its stream, ended (or it was refused).
 */
export class CallTraffic implements Traffic {
  inFlight = 0;
  started = 0;

  begin(): void {
    this.started++;
    this.inFlight++;
  }

  end(): void {
    this.inFlight--;
  }
}

/** Several counters read as one: quiet only when every one of them is. */
export class CombinedTraffic implements Traffic {
  constructor(private readonly sources: readonly Traffic[]) {}

  get inFlight(): number {
    let total = 0;
    for (const source of this.sources) total += source.inFlight;
    return total;
  }

  get started(): number {
    let total = 0;
    for (const source of this.sources) total += source.started;
    return total;
  }
}

/** The claim of every warm request: shared, so a warm request allocates nothing. */
const WARM: WarmthClaim = Object.freeze({ cold: false, provider: '', initMark: 0 });

/**
 * Which upstreams are warm (SPEC CS-2, CS-3). A provider is warm while it had traffic — a request
 * or a warm-up / keep-warm ping — within `coldAfterIdleMs`; the first request after a longer
 * silence, or before the provider was ever used or warmed, is cold: it may pay a new connection
 * and TLS handshake, and a scale-to-zero upstream's wake-up. Connection set-up time reported by
 * the pools (`addInit`) while a cold request is in flight is that request's `initMs`. Every
 * request is cold while the background warm-up after ready (connections, tokenizer) still runs.
 */
export class Warmth {
  private readonly lastUse = new Map<string, number>();
  private readonly init = new Map<string, number>();
  private warmingUp = false;

  constructor(
    private readonly clock: Clock,
    readonly coldAfterIdleMs: number,
  ) {}

  /** Tags one request to `provider`: cold when the provider was idle too long, and marks it used. */
  claim(provider: string): WarmthClaim {
    const now = this.clock.now();
    const last = this.lastUse.get(provider);
    this.lastUse.set(provider, now);
    if (!this.warmingUp && last !== undefined && now - last < this.coldAfterIdleMs) return WARM;
    return { cold: true, provider, initMark: this.initTotal(provider) };
  }

  /** Tags every request cold until `warmUp` settles: the background warm-up (SPEC CS-2) is not done. */
  coldUntil(warmUp: Promise<unknown>): void {
    this.warmingUp = true;
    const done = () => {
      this.warmingUp = false;
    };
    warmUp.then(done, done);
  }

  /** A warm-up or keep-warm ping reached `provider`. */
  touch(provider: string): void {
    this.lastUse.set(provider, this.clock.now());
  }

  /** One-off init work for `provider` (a connection set up, in ms). */
  addInit(provider: string, ms: number): void {
    this.init.set(provider, this.initTotal(provider) + ms);
  }

  /** All init work reported for `provider` so far, in ms. */
  initTotal(provider: string): number {
    return this.init.get(provider) ?? 0;
  }

  /** The init work a claimed request paid: what was reported for its provider since the claim; 0 when warm. */
  initMsOf(claim: WarmthClaim | undefined): number {
    if (!claim?.cold) return 0;
    return Math.round((this.initTotal(claim.provider) - claim.initMark) * 1000) / 1000;
  }
}

const COLD_INIT_MS = Symbol('breakwater.coldInitMs');

/** Notes on an HTTP response that its request was cold, for the access-log line. */
export function markCold(res: object, initMs: number): void {
  (res as { [COLD_INIT_MS]?: number })[COLD_INIT_MS] = initMs;
}

/** The `initMs` {@link markCold} noted on a response; undefined when the request was warm. */
export function coldInitMsOf(res: object): number | undefined {
  return (res as { [COLD_INIT_MS]?: number })[COLD_INIT_MS];
}
