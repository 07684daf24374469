import type { PrincipalLimits } from '../store/interfaces.js';

/** Who a level belongs to: a node of the principal tree or an upstream deployment. */
export type LevelKind = 'org' | 'team' | 'user' | 'key' | 'deployment';

/** What a reservation can run out of (SPEC MT-12). */
export type Dimension = 'requests' | 'input_tokens' | 'output_tokens' | 'concurrency' | 'daily_spend' | 'monthly_spend';

/**
 * One level a request must fit: its counters are keyed by `id`. Built once per key (principal
 * chain) or deployment and reused by every request, never per request.
 */
export interface LimitLevel {
  /** Counter key, e.g. `team:tm_…` or `deployment:sim/sim-fast`. */
  id: string;
  kind: LevelKind;
  /** Shown in errors. */
  name: string;
  limits: Readonly<PrincipalLimits>;
  dailyMicros?: number | undefined;
  monthlyMicros?: number | undefined;
  /** Share of a cap at which the soft alert fires. */
  softThreshold: number;
  /**
   * Share of the rate and concurrency limits this request may fill (batch on a deployment, or a
   * deployment backing off on upstream headers); 1 when absent. Counters stay shared, so the rest
   * is headroom for requests with a larger share.
   */
  share?: number | undefined;
}

/** Calendar budget periods at the moment of a reservation (`budgets.timezone`). */
export interface BudgetPeriods {
  day: string;
  month: string;
  /** When the day and month end (ms), for Retry-After on a spent budget. */
  dayEndsAt: number;
  monthEndsAt: number;
}

/** What one request asks of every level at once. */
export interface ReserveInput {
  /** Unique per request; names the concurrency lease. */
  id: string;
  now: number;
  levels: readonly LimitLevel[];
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  periods: BudgetPeriods;
  /** A concurrency slot not settled by then is reclaimed (a crashed or leaked request). */
  leaseUntil: number;
}

/** Rate facts of one level after a reservation or at a denial, for `x-ratelimit-*` headers. */
export interface RateState {
  level: LimitLevel;
  requests?: { limit: number; remaining: number; resetMs: number } | undefined;
  tokens?: { limit: number; remaining: number; resetMs: number } | undefined;
}

/** A granted reservation: what `settle` must return or charge. */
export interface Reservation {
  readonly input: ReserveInput;
}

/** Why a request does not fit: the tightest level and dimension (SPEC API-8). */
export interface Denial {
  level: LimitLevel;
  dimension: Dimension;
  /** The limit or cap in the dimension's unit (per minute, in flight, micro-USD). */
  limit: number;
  /** When a retry may fit; undefined when it never will as asked. */
  retryAfterMs?: number | undefined;
  /** Committed plus reserved spend, for budget denials. */
  spentMicros?: number | undefined;
  rate?: RateState | undefined;
}

/** The answer of one atomic reserve. */
export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; denial: Denial };

/** What a request actually used, known at its end. */
export interface ActualUsage {
  now: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
}

/** A budget that crossed its soft threshold with this settle: reported once per period. */
export interface SoftCrossing {
  level: LimitLevel;
  period: 'day' | 'month';
  periodKey: string;
  spentMicros: number;
  capMicros: number;
}

/**
 * Limit counters (SPEC §2.4 LimitStore, MT-12). `reserve` is one atomic all-or-nothing check
 * over every level and dimension (requests, input and output tokens, concurrency, daily and
 * monthly spend): either everything is reserved or nothing is and the tightest denial comes
 * back. `settle` replaces the estimate with the actual use: token excess becomes debt, shortfall
 * a refund; spend is committed; the concurrency slot is released. Each is one Redis script call
 * in the scale-out store.
 */
export interface LimitStore {
  reserve(input: ReserveInput): Promise<ReserveResult>;
  settle(reservation: Reservation, actual: ActualUsage): Promise<SoftCrossing[]>;
  /** Sets a level's committed spend for the current periods (startup, from the ledger). */
  seedSpend(levelId: string, periods: BudgetPeriods, dailyMicros: number, monthlyMicros: number): Promise<void>;
}
