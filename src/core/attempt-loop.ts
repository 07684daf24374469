import { cancelReason, isCancelled, listenForCancel, stopListeningForCancel, type Cancellable, type Cancellation } from './cancellation.js';
import { TIMER_CANCELLED, type Clock } from './clock.js';
import { BreakwaterError, toBreakwaterError } from './errors.js';
import type { AttemptTimeouts } from './provider.js';

/** What an attempt's outcome means for the deployment's health. */
export type FailureKind = 'error' | 'timeout' | 'semantic' | 'rate_limited';

/** What the health hooks are told after each attempt. */
export type AttemptOutcome =
  | { kind: 'success'; ttftMs?: number }
  | { kind: 'failure'; failure: FailureKind; error: BreakwaterError }
  | { kind: 'abandoned' };

/** A semantic verdict on a completed answer. */
export interface Verdict {
  ok: boolean;
  reasons: string[];
}

/** What happened in one attempt, for headers, the ledger and the admin API. */
export interface AttemptRecord {
  deployment: string;
  startedAt: number;
  endedAt: number;
  outcome: 'success' | 'error' | 'semantic_failure' | 'skipped';
  errorCode?: string | undefined;
  reason?: string | undefined;
  upstreamStatus?: number | undefined;
  /** Why the answer was rejected (semantic failures). */
  reasons?: string[] | undefined;
  /** Started by hedging while another attempt was still waiting for its first token. */
  hedged?: boolean | undefined;
}

/** The minimum a candidate needs for the loop. */
export interface LoopCandidate {
  deployment: string;
  timeouts: AttemptTimeouts;
}

/**
 * How the loop treats upstreams: breakers and bulkheads (`admit`), retry budgets and backoff,
 * health feedback. Implemented by the resilience module; {@link PASS_THROUGH_POLICY} is the
 * policy-free default.
 */
export interface AttemptPolicy<C extends LoopCandidate> {
  maxAttempts: number;
  maxAttemptsPerDeployment(candidate: C): number;
  maxWaitMs: number;
  /** `allowed` or `probe` to try the candidate, else the reason it is skipped without a call. */
  admit(candidate: C): 'allowed' | 'probe' | { skip: string };
  /** A first attempt on a candidate starts (retry budgets count these). */
  onFirstAttempt(candidate: C): void;
  /** May the candidate be retried now (breaker, budget)? True takes an admission like `admit`. */
  allowRetry(candidate: C): boolean;
  /** How long to wait before retry number `retryIndex` (0-based) after `error`. */
  retryDelayMs(error: BreakwaterError, retryIndex: number, candidate: C): number;
  report(candidate: C, outcome: AttemptOutcome): void;
  /** Start the next candidate too when the first token is this late (hedging); undefined = off. */
  hedgeAfterMs?: number | undefined;
  /** Stop once rejected answers of one request cost this much (micro-USD, SPEC UP-7); undefined = no cap. */
  maxSpendMicros?: number | undefined;
  /** What a rejected answer cost. */
  costOf?(candidate: C, result: unknown): number;
}

/** One attempt on one candidate. Rejects with a BreakwaterError; cancelling `cancellable` aborts it. */
export type AttemptFn<C, T> = (candidate: C, cancellable: Cancellable, timeouts: AttemptTimeouts) => Promise<T>;

/** Checks a result; a failing verdict makes the attempt a semantic failure. */
export type CheckFn<T> = (result: T) => Verdict | undefined | Promise<Verdict | undefined>;

/** The loop's per-request inputs. */
export interface LoopContext {
  clock: Clock;
  /** Aborted when the client leaves or the request deadline passes. */
  signal: AbortSignal;
  /** The same cancellation without an AbortSignal, when the server made one. */
  cancel?: Cancellation | undefined;
  /** Clock time by which the request must be answered. */
  deadlineAt: number;
  /** True when an attempt resolves at its first token (streams), so its duration is a TTFT sample. */
  resolvesAtFirstToken?: boolean;
}

/** The outcome of a successful loop. */
export interface LoopResult<C, T> {
  result: T;
  candidate: C;
  attempts: AttemptRecord[];
  /** Aborts the winning attempt (for streams still being read). */
  abort(reason?: unknown): void;
  /** Ends the winning attempt's link to the request signal. */
  release(): void;
  /** False when the attempt shares the request's signal: then `release` has nothing to do. */
  linked: boolean;
}

/** Why a rejected answer's attempt is aborted (its stream may still be open). */
const DISCARDED = new BreakwaterError('semantic_validation_failed', 'the answer was rejected by validation', { reason: 'validation' });

/** Failures that move straight to the next candidate instead of retrying the same one (SPEC UP-5). */
const MOVE_ON_REASONS = new Set(['connect_timeout', 'headers_timeout', 'first_token_timeout', 'connection_refused']);

function failureKind(error: BreakwaterError): FailureKind {
  if (error.code === 'rate_limited') return 'rate_limited';
  if (error.code === 'upstream_timeout') return 'timeout';
  return 'error';
}

/** What the loop does after a failed attempt. */
type Next = 'retry' | 'next_candidate' | 'stop';

function decide(error: BreakwaterError): Next {
  if (error.code === 'context_length_exceeded') return 'next_candidate';
  if (!error.retryable) return 'stop';
  if (error.details.reason !== undefined && MOVE_ON_REASONS.has(error.details.reason)) return 'next_candidate';
  return 'retry';
}

interface Running<T> {
  promise: Promise<{ ok: true; value: T } | { ok: false; error: BreakwaterError }>;
  abort(reason?: unknown): void;
  unlink: () => void;
  record: AttemptRecord;
}

/**
 * Tries candidates in order with retries, backoff, budgets, breakers, validation and optional
 * hedging, until one produces an acceptable result or nothing is left. A connect, header or
 * first-token timeout moves on at once, so a silent provider costs one timeout, not three.
 */
export function runAttemptLoop<C extends LoopCandidate, T>(
  candidates: readonly C[],
  policy: AttemptPolicy<C>,
  ctx: LoopContext,
  attempt: AttemptFn<C, T>,
  check: CheckFn<T>,
  onDiscard?: (result: T) => void,
): Promise<LoopResult<C, T>> {
  return new AttemptLoop(candidates, policy, ctx, attempt, check, onDiscard).run();
}

/** The state of one request's walk over its candidates. */
class AttemptLoop<C extends LoopCandidate, T> {
  private readonly attempts: AttemptRecord[] = [];
  private readonly semanticReasons: string[] = [];
  private lastError: BreakwaterError | undefined;
  private index = 0;
  private admitted = 0;
  private tried = 0;
  private spent = 0;
  private readonly hedging: boolean;

  constructor(
    private readonly candidates: readonly C[],
    private readonly policy: AttemptPolicy<C>,
    private readonly ctx: LoopContext,
    private readonly attempt: AttemptFn<C, T>,
    private readonly check: CheckFn<T>,
    private readonly onDiscard: ((result: T) => void) | undefined,
  ) {
    this.hedging = policy.hedgeAfterMs !== undefined && candidates.length >= 2;
  }

  // `current` holds an admission (breaker probe or bulkhead slot) until its attempt is reported;
  // every way out of the loop gives an unused one back.
  async run(): Promise<LoopResult<C, T>> {
    const { policy, ctx } = this;
    let retryIndex = 0;
    let current = this.nextAdmitted();
    while (current) {
      if (isCancelled(ctx)) {
        policy.report(current, { kind: 'abandoned' });
        throw abortError(cancelReason(ctx));
      }
      if (this.tried >= policy.maxAttempts) {
        policy.report(current, { kind: 'abandoned' });
        break;
      }
      if (retryIndex === 0) policy.onFirstAttempt(current);
      const running = start(current, ctx, this.attempt, false, policy.hedgeAfterMs !== undefined);
      this.attempts.push(running.record);
      const before = this.attempts.length;
      // Without hedging there is nothing to race: await the attempt itself (one async hop less).
      const { winner, outcome, candidate } = this.hedging
        ? await settleWithHedge(running, current, this.candidates, policy, ctx, this.attempt, this.attempts, () => this.nextAdmitted())
        : { winner: running, outcome: await running.promise, candidate: current };
      this.tried += 1 + this.attempts.length - before;
      if (outcome.ok) {
        const checked = this.check(outcome.value);
        const verdict = checked instanceof Promise ? await checked : checked;
        if (!verdict || verdict.ok) return this.succeed(winner, candidate, outcome.value);
        if (!this.reject(winner, candidate, outcome.value, verdict)) break;
      } else {
        winner.unlink();
        if (await this.retrySame(candidate, outcome.error, retryIndex)) {
          retryIndex++;
          current = candidate;
          continue;
        }
      }
      current = this.nextAdmitted();
      retryIndex = 0;
    }
    throw this.exhausted();
  }

  private nextAdmitted(): C | undefined {
    while (this.index < this.candidates.length) {
      const candidate = this.candidates[this.index++]!;
      const verdict = this.policy.admit(candidate);
      if (verdict === 'allowed' || verdict === 'probe') {
        this.admitted++;
        return candidate;
      }
      const now = this.ctx.clock.now();
      this.attempts.push({ deployment: candidate.deployment, startedAt: now, endedAt: now, outcome: 'skipped', reason: verdict.skip });
    }
    return undefined;
  }

  private succeed(winner: Running<T>, candidate: C, value: T): LoopResult<C, T> {
    winner.record.outcome = 'success';
    winner.record.endedAt = this.ctx.clock.now();
    const elapsed = winner.record.endedAt - winner.record.startedAt;
    this.policy.report(candidate, this.ctx.resolvesAtFirstToken ? { kind: 'success', ttftMs: elapsed } : { kind: 'success' });
    return { result: value, candidate, attempts: this.attempts, abort: winner.abort, release: winner.unlink, linked: winner.unlink !== NO_ABORT };
  }

  /** Records an answer validation rejected; false when the spend cap says to stop trying. */
  private reject(winner: Running<T>, candidate: C, value: T, verdict: Verdict): boolean {
    this.onDiscard?.(value);
    winner.abort(DISCARDED);
    winner.unlink();
    winner.record.outcome = 'semantic_failure';
    winner.record.reasons = verdict.reasons;
    winner.record.endedAt = this.ctx.clock.now();
    this.semanticReasons.push(...verdict.reasons.map((r) => `${candidate.deployment}: ${r}`));
    this.lastError = new BreakwaterError('semantic_validation_failed', `the answer failed validation: ${verdict.reasons.join('; ')}`);
    this.policy.report(candidate, { kind: 'failure', failure: 'semantic', error: this.lastError });
    this.spent += this.policy.costOf?.(candidate, value) ?? 0;
    return this.policy.maxSpendMicros === undefined || this.spent < this.policy.maxSpendMicros;
  }

  /**
   * Handles a failed attempt: throws when the failure goes straight to the client, waits and
   * returns true to retry the same candidate, false to move on.
   */
  private async retrySame(candidate: C, error: BreakwaterError, retryIndex: number): Promise<boolean> {
    const { policy, ctx } = this;
    if (isCancelled(ctx)) {
      policy.report(candidate, { kind: 'abandoned' });
      throw abortError(cancelReason(ctx));
    }
    this.lastError = error;
    policy.report(candidate, { kind: 'failure', failure: failureKind(error), error });
    const next = decide(error);
    if (next === 'stop') throw finalError(error, candidate, this.attempts);
    if (next !== 'retry' || retryIndex + 1 >= policy.maxAttemptsPerDeployment(candidate)) return false;
    const wait = policy.retryDelayMs(error, retryIndex, candidate);
    if (wait > policy.maxWaitMs || wait >= ctx.deadlineAt - ctx.clock.now()) return false;
    await ctx.clock.sleep(wait, ctx.signal).catch(() => {});
    // Asked after the wait, so the breaker and budget judge the moment of the retry.
    return !isCancelled(ctx) && policy.allowRetry(candidate);
  }

  /** The error when nothing is left to try. */
  private exhausted(): BreakwaterError {
    const { lastError, attempts } = this;
    if (lastError === undefined) {
      const allSkipped = this.admitted === 0 && attempts.length > 0;
      const message = allSkipped ? 'every deployment is unavailable (circuit open or at capacity)' : 'no deployment could serve this request';
      return new BreakwaterError('upstream_unavailable', message, { reason: allSkipped ? 'breaker_open' : 'no_candidate', attempts: this.tried });
    }
    if (this.semanticReasons.length > 0 && lastError.code === 'semantic_validation_failed') {
      return new BreakwaterError('semantic_validation_failed', `no candidate gave a valid answer: ${this.semanticReasons.join('; ')}`, {
        attempts: this.tried,
        reason: 'validation',
      });
    }
    return finalError(lastError, undefined, attempts);
  }
}

const NO_ABORT = (): void => {};

/**
 * Starts one attempt. Only hedged routes give each attempt its own AbortController (one of two
 * racing attempts must be stoppable alone); otherwise the attempt shares the request's signal,
 * which saves a controller and a listener per request on the hot path.
 */
function start<C extends LoopCandidate, T>(candidate: C, ctx: LoopContext, attempt: AttemptFn<C, T>, hedged: boolean, ownSignal: boolean): Running<T> {
  let cancellable: Cancellable = ctx;
  let abort: (reason?: unknown) => void = NO_ABORT;
  let unlink = NO_ABORT;
  if (ownSignal) {
    const controller = new AbortController();
    const onAbort = () => controller.abort(cancelReason(ctx));
    if (isCancelled(ctx)) controller.abort(cancelReason(ctx));
    else listenForCancel(ctx, onAbort);
    unlink = () => stopListeningForCancel(ctx, onAbort);
    abort = (reason) => controller.abort(reason);
    cancellable = { signal: controller.signal };
  }
  const startedAt = ctx.clock.now();
  const record: AttemptRecord = { deployment: candidate.deployment, startedAt, endedAt: startedAt, outcome: 'error', hedged: hedged || undefined };
  const timeouts = clampTimeouts(candidate.timeouts, ctx.deadlineAt - startedAt);
  const promise = attempt(candidate, cancellable, timeouts).then(
    (value) => ({ ok: true as const, value }),
    (thrown: unknown) => {
      const error = toBreakwaterError(thrown);
      record.endedAt = ctx.clock.now();
      record.errorCode = error.code;
      record.reason = error.details.reason;
      record.upstreamStatus = error.details.upstreamStatus;
      return { ok: false as const, error };
    },
  );
  return { promise, abort, unlink, record };
}

/**
 * Waits for an attempt; with hedging on, starts the next admitted candidate when the first is
 * late and keeps whichever answers first, aborting the other (SPEC UP-17).
 */
async function settleWithHedge<C extends LoopCandidate, T>(
  first: Running<T>,
  candidate: C,
  candidates: readonly C[],
  policy: AttemptPolicy<C>,
  ctx: LoopContext,
  attempt: AttemptFn<C, T>,
  attempts: AttemptRecord[],
  nextAdmitted: () => C | undefined,
): Promise<{ winner: Running<T>; outcome: Awaited<Running<T>['promise']>; candidate: C }> {
  const hedgeAfter = policy.hedgeAfterMs;
  if (hedgeAfter === undefined || candidates.length < 2) return { winner: first, outcome: await first.promise, candidate };
  const timer = new AbortController();
  const late = ctx.clock.sleep(hedgeAfter, timer.signal).then(
    () => 'late' as const,
    () => 'cancelled' as const,
  );
  const early = await Promise.race([first.promise.then((o) => ({ o })), late]);
  timer.abort(TIMER_CANCELLED);
  if (typeof early === 'object') return { winner: first, outcome: early.o, candidate };
  const second = early === 'late' ? nextAdmitted() : undefined;
  if (!second) return { winner: first, outcome: await first.promise, candidate };
  policy.onFirstAttempt(second);
  const hedge = start(second, ctx, attempt, true, true);
  attempts.push(hedge.record);
  const racers = [
    first.promise.then((o) => ({ o, r: first, c: candidate })),
    hedge.promise.then((o) => ({ o, r: hedge, c: second })),
  ];
  let settled = await Promise.race(racers);
  if (!settled.o.ok) {
    // The faster one failed: the other may still answer.
    const other = settled.r === first ? racers[1]! : racers[0]!;
    policy.report(settled.c, { kind: 'failure', failure: failureKind(settled.o.error), error: settled.o.error });
    settled.r.unlink();
    settled = await other;
  } else {
    const loser = settled.r === first ? hedge : first;
    const loserCandidate = settled.r === first ? second : candidate;
    loser.abort(new BreakwaterError('upstream_error', 'hedged attempt lost the race', { reason: 'hedge_lost', retryable: false }));
    loser.unlink();
    loser.record.outcome = 'error';
    loser.record.reason = 'hedge_lost';
    loser.record.endedAt = ctx.clock.now();
    policy.report(loserCandidate, { kind: 'abandoned' });
  }
  return { winner: settled.r, outcome: settled.o, candidate: settled.c };
}

/** No per-attempt timeout may outlast what is left of the request deadline (never below 1 ms: undici reads 0 as none). */
export function clampTimeouts(timeouts: AttemptTimeouts, remainingMs: number): AttemptTimeouts {
  const cap = Math.max(1, Math.floor(remainingMs));
  const { connectMs, headersMs, firstTokenMs, idleMs, totalMs } = timeouts;
  if (connectMs <= cap && headersMs <= cap && firstTokenMs <= cap && idleMs <= cap && totalMs <= cap) return timeouts;
  return {
    connectMs: Math.min(connectMs, cap),
    headersMs: Math.min(headersMs, cap),
    firstTokenMs: Math.min(firstTokenMs, cap),
    idleMs: Math.min(idleMs, cap),
    totalMs: Math.min(totalMs, cap),
  };
}

function abortError(reason: unknown): BreakwaterError {
  if (reason instanceof BreakwaterError) return reason;
  return new BreakwaterError('upstream_error', 'the client closed the connection', { reason: 'client_closed', retryable: false });
}

function finalError(error: BreakwaterError, candidate: LoopCandidate | undefined, attempts: AttemptRecord[]): BreakwaterError {
  const tried = attempts.filter((a) => a.outcome !== 'skipped').length;
  return error.withDetails({ deployment: error.details.deployment ?? candidate?.deployment, attempts: tried });
}

/** A policy with no breakers, budgets or waits: each candidate once, in order. */
export function passThroughPolicy<C extends LoopCandidate>(): AttemptPolicy<C> {
  return {
    maxAttempts: Number.MAX_SAFE_INTEGER,
    maxAttemptsPerDeployment: () => 1,
    maxWaitMs: 0,
    admit: () => 'allowed',
    onFirstAttempt: () => {},
    allowRetry: () => false,
    retryDelayMs: () => 0,
    report: () => {},
  };
}
