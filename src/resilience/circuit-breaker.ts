import type { BreakerConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { BreakerWindow, type BreakerWindowCounts } from './breaker-window.js';

/** Where a breaker stands. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** The answer to "may I call this deployment?": a normal call, a half-open probe, or no call. */
export type BreakerDecision = 'allowed' | 'probe' | 'rejected';

/** Failures that count against a deployment (SPEC UP-2); a 429 is not one of them (UP-14). */
export type BreakerFailureKind = 'error' | 'timeout' | 'semantic';

/** Why a breaker last opened. */
export type BreakerTrip = 'failure_ratio' | 'ttft_p95' | 'stall_ratio' | 'probe_failed' | 'health_check';

/** A breaker's state as plain data, for metrics, the admin API and a shared store. */
export interface BreakerSnapshot {
  /** The state at `at`: an open breaker whose period has passed reports `half_open`. */
  state: BreakerState;
  /** Clock time the snapshot was taken. */
  at: number;
  openedAt: number | null;
  openUntil: number | null;
  /** The current open period; doubles on each failed probe up to `maxOpenMs`. */
  openMs: number;
  /** Until then calls are rejected because the upstream answered 429. */
  cooldownUntil: number | null;
  trip: BreakerTrip | null;
  probesInFlight: number;
  probeSuccesses: number;
  window: BreakerWindowCounts;
  failureRatio: number;
  stallRatio: number;
  /** Approximate (≤ 9 % high), null without samples. */
  ttftP95Ms: number | null;
}

/** Told about every state change, after it happened. Must not throw. */
export type BreakerChangeListener = (from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void;

/** A breaker's settings: the config group plus hooks. */
export interface CircuitBreakerOptions extends BreakerConfig {
  onChange?: BreakerChangeListener | undefined;
  /** Cooldown after a 429 that gave no Retry-After; 1 s unless set. */
  rateLimitCooldownMs?: number | undefined;
}

const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 1_000;

/**
 * A circuit breaker for one deployment (SPEC UP-2, UP-3, UP-14). Closed, it counts outcomes over
 * a sliding window and opens on a failure ratio, TTFT p95 or stall ratio over its limits (each
 * with at least `minCalls`); open, it rejects without a call; after the open period it lets
 * `halfOpenProbes` probes through: all succeed → closed, one fails → open again for twice as
 * long, capped at `maxOpenMs`. A 429 sets a cooldown instead of counting as a failure.
 *
 * Outcomes are not tied to the acquisition that preceded them: an outcome that arrives while
 * half-open is taken as a probe's verdict, and while open it is ignored, which is what a call
 * started before the breaker opened deserves too.
 */
export class CircuitBreaker {
  private phase: BreakerState = 'closed';
  private openedAt: number | null = null;
  private openUntil: number | null = null;
  private periodMs: number;
  private cooldownUntil: number | null = null;
  private trip: BreakerTrip | null = null;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private readonly window: BreakerWindow;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
  ) {
    this.periodMs = options.openMs;
    this.window = new BreakerWindow(options.windowMs, options.ttftP95Ms, clock);
  }

  /** Rebuilds a breaker from a snapshot (e.g. one kept in a shared store). */
  static fromSnapshot(snapshot: BreakerSnapshot, options: CircuitBreakerOptions, clock: Clock): CircuitBreaker {
    const breaker = new CircuitBreaker(options, clock);
    breaker.load(snapshot);
    return breaker;
  }

  /** The state now: an open breaker whose period has passed reports `half_open`. */
  get state(): BreakerState {
    if (this.phase === 'open' && this.clock.now() >= this.openUntil!) return 'half_open';
    return this.phase;
  }

  /** Asks to call the deployment; a `probe` must end in `onSuccess`, `onFailure`, `onRateLimited` or `release`. */
  tryAcquire(): BreakerDecision {
    if (!this.options.enabled) return 'allowed';
    const now = this.clock.now();
    if (this.cooldownUntil !== null) {
      if (now < this.cooldownUntil) return 'rejected';
      this.cooldownUntil = null;
    }
    this.refresh(now);
    if (this.phase === 'closed') return 'allowed';
    if (this.phase === 'open') return 'rejected';
    if (this.probesInFlight + this.probeSuccesses >= this.options.halfOpenProbes) return 'rejected';
    this.probesInFlight++;
    return 'probe';
  }

  /** Milliseconds until `tryAcquire` may stop rejecting (0 when it would not reject for time reasons). */
  retryInMs(): number {
    const now = this.clock.now();
    const cooldown = this.cooldownUntil === null ? 0 : this.cooldownUntil - now;
    const open = this.phase === 'open' ? this.openUntil! - now : 0;
    return Math.max(0, cooldown, open);
  }

  /** A call succeeded (and passed validation). A slow or stalled probe counts as a failed one. */
  onSuccess(info: { ttftMs?: number | undefined; stalled?: boolean | undefined } = {}): void {
    if (!this.options.enabled) return;
    this.refresh(this.clock.now());
    const stalled = info.stalled === true;
    if (this.phase === 'half_open') {
      const limit = this.options.ttftP95Ms;
      if (stalled || (limit !== undefined && info.ttftMs !== undefined && info.ttftMs > limit)) return this.probeFailed();
      this.probeSucceeded();
      return;
    }
    if (this.phase === 'open') return;
    // The doubled period stays through closing, so a flapping deployment keeps its long period.
    this.periodMs = this.options.openMs;
    this.window.recordSuccess(info.ttftMs, stalled);
    this.checkTrip();
  }

  /** A call failed: an error, a timeout, or an answer that failed validation. */
  onFailure(_kind: BreakerFailureKind): void {
    if (!this.options.enabled) return;
    this.refresh(this.clock.now());
    if (this.phase === 'half_open') return this.probeFailed();
    if (this.phase === 'open') return;
    this.window.recordFailure();
    this.checkTrip();
  }

  /** The upstream answered 429: reject until the cooldown ends; no failure counted, a probe slot freed. */
  onRateLimited(retryAfterMs?: number): void {
    if (!this.options.enabled) return;
    const now = this.clock.now();
    this.refresh(now);
    const wait = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : (this.options.rateLimitCooldownMs ?? DEFAULT_RATE_LIMIT_COOLDOWN_MS);
    this.cooldownUntil = Math.max(this.cooldownUntil ?? 0, now + wait);
    this.release();
  }

  /** Gives back a probe whose call ended without a verdict (the client left). */
  release(): void {
    if (this.phase === 'half_open' && this.probesInFlight > 0) this.probesInFlight--;
  }

  /** Closes the breaker and forgets its history (admin action). */
  reset(): void {
    const from = this.state;
    this.window.clear();
    this.periodMs = this.options.openMs;
    this.cooldownUntil = null;
    this.openedAt = null;
    this.openUntil = null;
    this.trip = null;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.phase = 'closed';
    if (from !== 'closed') this.emit(from, 'closed');
  }

  /** The state as plain data. */
  snapshot(): BreakerSnapshot {
    return {
      state: this.state,
      at: this.clock.now(),
      openedAt: this.openedAt,
      openUntil: this.openUntil,
      openMs: this.periodMs,
      cooldownUntil: this.cooldownUntil,
      trip: this.trip,
      probesInFlight: this.probesInFlight,
      probeSuccesses: this.probeSuccesses,
      window: this.window.counts(),
      failureRatio: this.window.failureRatio,
      stallRatio: this.window.stallRatio,
      ttftP95Ms: this.window.ttftP95Ms,
    };
  }

  /**
   * Takes over a snapshot's state. Probes in flight are not restored (they belong to the process
   * that took the snapshot and would hold their slots forever here); window counts land in the
   * current bucket, so they age out one window from now rather than when they would have.
   */
  restore(snapshot: BreakerSnapshot): void {
    const from = this.state;
    this.load(snapshot);
    const to = this.state;
    if (from !== to) this.emit(from, to);
  }

  private load(snapshot: BreakerSnapshot): void {
    this.phase = snapshot.state === 'half_open' && snapshot.openUntil !== null && snapshot.probeSuccesses === 0 ? 'open' : snapshot.state;
    this.openedAt = snapshot.openedAt;
    this.openUntil = snapshot.openUntil;
    this.periodMs = snapshot.openMs;
    this.cooldownUntil = snapshot.cooldownUntil;
    this.trip = snapshot.trip;
    this.probesInFlight = 0;
    this.probeSuccesses = this.phase === 'half_open' ? snapshot.probeSuccesses : 0;
    this.window.load(snapshot.window, snapshot.ttftP95Ms);
  }

  /** Turns an open breaker whose period has passed into a half-open one. */
  private refresh(now: number): void {
    if (this.phase !== 'open' || now < this.openUntil!) return;
    this.phase = 'half_open';
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.emit('open', 'half_open');
  }

  /**
   * Opens the breaker for `ms` on outside evidence (a failed health check of a self-hosted
   * target), without waiting for requests to fail; an open breaker keeps its later deadline.
   */
  forceOpen(trip: BreakerTrip, ms: number): void {
    if (this.phase === 'open' && this.openUntil !== null && this.openUntil >= this.clock.now() + ms) return;
    this.open(trip, ms);
  }

  private checkTrip(): void {
    const { minCalls, failureRatio, stallRatio } = this.options;
    if (this.window.calls < minCalls) return;
    // periodMs, not openMs: a breaker that reopens before any success since closing keeps its doubled period.
    if (this.window.failureRatio >= failureRatio) this.open('failure_ratio', this.periodMs);
    else if (this.window.ttftP95Exceeded(minCalls)) this.open('ttft_p95', this.periodMs);
    else if (this.window.stallRatio > stallRatio) this.open('stall_ratio', this.periodMs);
  }

  private probeSucceeded(): void {
    if (this.probesInFlight > 0) this.probesInFlight--;
    this.probeSuccesses++;
    if (this.probeSuccesses < this.options.halfOpenProbes) return;
    this.window.clear();
    this.phase = 'closed';
    this.openedAt = null;
    this.openUntil = null;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.emit('half_open', 'closed');
  }

  private probeFailed(): void {
    this.open('probe_failed', Math.min(this.options.maxOpenMs, this.periodMs * 2));
  }

  private open(trip: BreakerTrip, periodMs: number): void {
    const from = this.phase;
    const now = this.clock.now();
    this.phase = 'open';
    this.trip = trip;
    this.periodMs = periodMs;
    this.openedAt = now;
    this.openUntil = now + periodMs;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.emit(from, 'open');
  }

  private emit(from: BreakerState, to: BreakerState): void {
    this.options.onChange?.(from, to, this.snapshot());
  }
}

/** Told about every breaker's state changes, with the deployment's name. */
export type RegistryChangeListener = (deployment: string, from: BreakerState, to: BreakerState, snapshot: BreakerSnapshot) => void;

/** Options of a {@link BreakerRegistry}. */
export interface BreakerRegistryOptions {
  onChange?: RegistryChangeListener | undefined;
  /** Cooldown after a 429 without Retry-After, for every breaker. */
  rateLimitCooldownMs?: number | undefined;
}

/** One breaker per deployment, created on first use. */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    private readonly defaults: BreakerConfig,
    private readonly clock: Clock,
    private readonly options: BreakerRegistryOptions = {},
  ) {}

  /** The deployment's breaker; `overrides` apply only when it is created (a config reload builds a new registry). */
  get(deployment: string, overrides?: Partial<BreakerConfig>): CircuitBreaker {
    let breaker = this.breakers.get(deployment);
    if (breaker) return breaker;
    const listener = this.options.onChange;
    breaker = new CircuitBreaker(
      {
        ...this.defaults,
        ...definedOnly(overrides),
        rateLimitCooldownMs: this.options.rateLimitCooldownMs,
        onChange: listener && ((from, to, snapshot) => listener(deployment, from, to, snapshot)),
      },
      this.clock,
    );
    this.breakers.set(deployment, breaker);
    return breaker;
  }

  /** Every known breaker's state, by deployment. */
  snapshot(): Record<string, BreakerSnapshot> {
    const out: Record<string, BreakerSnapshot> = {};
    for (const [deployment, breaker] of this.breakers) out[deployment] = breaker.snapshot();
    return out;
  }

  /** Closes a deployment's breaker and forgets its history; false when it has none. */
  reset(deployment: string): boolean {
    const breaker = this.breakers.get(deployment);
    breaker?.reset();
    return breaker !== undefined;
  }
}

/** An override's fields without the explicitly undefined ones, which would otherwise erase defaults. */
function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (value) for (const key in value) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
