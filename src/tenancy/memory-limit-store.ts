import { gcraAdjust, gcraTake, type GcraResult } from './gcra.js';
import type { ActualUsage, BudgetPeriods, Denial, Dimension, LimitLevel, LimitStore, RateState, Reservation, ReserveInput, ReserveResult, SoftCrossing } from './limit-store.js';

interface SpendPeriod {
  key: string;
  committed: number;
  reserved: number;
  alerted: boolean;
}

interface LevelState {
  requestsTat: number;
  inputTat: number;
  outputTat: number;
  /** Reservation id → lease end. */
  leases: Map<string, number>;
  day: SpendPeriod;
  month: SpendPeriod;
}

const newPeriod = (key: string): SpendPeriod => ({ key, committed: 0, reserved: 0, alerted: false });

/** A calendar period rolls over the moment its key changes: spend starts from zero. */
function current(period: SpendPeriod, key: string): SpendPeriod {
  if (period.key !== key) {
    period.key = key;
    period.committed = 0;
    period.reserved = 0;
    period.alerted = false;
  }
  return period;
}

/**
 * Whether one more lease fits under `max`. Expired leases (requests that never settled) are
 * pruned only when the level looks full, so a reserve costs O(1) until the limit is in reach.
 */
function leaseFits(state: LevelState, now: number, max: number): boolean {
  if (state.leases.size < max) return true;
  state.leases.forEach((until, id) => {
    if (until <= now) state.leases.delete(id);
  });
  return state.leases.size < max;
}

/** Of two denials, the one the client must wait out: a spent budget, else the longest wait. */
function tighter(a: Denial | undefined, b: Denial): Denial {
  if (!a) return b;
  const budgetA = a.dimension.endsWith('_spend');
  const budgetB = b.dimension.endsWith('_spend');
  if (budgetA !== budgetB) return budgetA ? a : b;
  return (b.retryAfterMs ?? Infinity) > (a.retryAfterMs ?? Infinity) ? b : a;
}

/** The denial of a rate dimension whose bucket had no room. */
function rateDenial(level: LimitLevel, dimension: Dimension, limit: number, taken: Extract<GcraResult, { ok: false }>): Denial {
  const window = { limit, remaining: taken.remaining, resetMs: taken.resetMs };
  const rate: RateState = dimension === 'requests' ? { level, requests: window } : { level, tokens: window };
  return { level, dimension, limit, retryAfterMs: taken.retryAfterMs, rate };
}

class MemoryReservation implements Reservation {
  settled = false;
  constructor(readonly input: ReserveInput) {}
}

/**
 * The in-process LimitStore: exact and atomic because nothing in `reserve` or `settle` awaits.
 * It is the embedded backend (SPEC §2.4); replicas share limits through the Redis one.
 */
export class MemoryLimitStore implements LimitStore {
  private readonly states = new Map<string, LevelState>();

  private state(id: string, periods: BudgetPeriods): LevelState {
    let state = this.states.get(id);
    if (!state) {
      state = { requestsTat: 0, inputTat: 0, outputTat: 0, leases: new Map(), day: newPeriod(periods.day), month: newPeriod(periods.month) };
      this.states.set(id, state);
    }
    return state;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    return this.reserveNow(input);
  }

  /** The synchronous reserve (benchmarks and tests of the arithmetic call it directly). */
  reserveNow(input: ReserveInput): ReserveResult {
    const { now, levels, periods } = input;
    let denial: Denial | undefined;
    const pending: Array<{ state: LevelState; requests?: number; input?: number; output?: number }> = [];
    for (const level of levels) {
      const state = this.state(level.id, periods);
      const share = level.share ?? 1;
      const { rpm, inputTpm, outputTpm, concurrency } = level.limits;
      const next: (typeof pending)[number] = { state };
      if (rpm !== undefined) {
        const taken = gcraTake(state.requestsTat, now, 1, rpm, share);
        if (taken.ok) next.requests = taken.tat;
        else denial = tighter(denial, rateDenial(level, 'requests', rpm, taken));
      }
      if (inputTpm !== undefined && input.inputTokens > 0) {
        const taken = gcraTake(state.inputTat, now, input.inputTokens, inputTpm, share);
        if (taken.ok) next.input = taken.tat;
        else denial = tighter(denial, rateDenial(level, 'input_tokens', inputTpm, taken));
      }
      if (outputTpm !== undefined && input.outputTokens > 0) {
        const taken = gcraTake(state.outputTat, now, input.outputTokens, outputTpm, share);
        if (taken.ok) next.output = taken.tat;
        else denial = tighter(denial, rateDenial(level, 'output_tokens', outputTpm, taken));
      }
      if (concurrency !== undefined && !leaseFits(state, now, Math.max(1, Math.floor(concurrency * share)))) {
        denial = tighter(denial, { level, dimension: 'concurrency', limit: concurrency, retryAfterMs: 1_000 });
      }
      denial = this.checkSpend(level, state, input, denial);
      pending.push(next);
    }
    if (denial) return { ok: false, denial };
    for (let i = 0; i < pending.length; i++) {
      const { state, requests, input: inputTat, output } = pending[i]!;
      const level = levels[i]!;
      if (requests !== undefined) state.requestsTat = requests;
      if (inputTat !== undefined) state.inputTat = inputTat;
      if (output !== undefined) state.outputTat = output;
      if (level.limits.concurrency !== undefined) state.leases.set(input.id, input.leaseUntil);
      current(state.day, periods.day).reserved += input.costMicros;
      current(state.month, periods.month).reserved += input.costMicros;
    }
    return { ok: true, reservation: new MemoryReservation(input) };
  }

  private checkSpend(level: LimitLevel, state: LevelState, input: ReserveInput, denial: Denial | undefined): Denial | undefined {
    const check = (cap: number | undefined, period: SpendPeriod, key: string, dimension: Dimension, endsAt: number) => {
      if (cap === undefined) return;
      const spend = current(period, key);
      const spent = spend.committed + spend.reserved;
      // Strict: a request is admitted only if its estimate fits, so concurrent requests overspend
      // by no more than what one request's actual cost exceeds its estimate.
      if (spent + input.costMicros > cap) {
        denial = tighter(denial, { level, dimension, limit: cap, spentMicros: spent, retryAfterMs: Math.max(0, endsAt - input.now) });
      }
    };
    check(level.dailyMicros, state.day, input.periods.day, 'daily_spend', input.periods.dayEndsAt);
    check(level.monthlyMicros, state.month, input.periods.month, 'monthly_spend', input.periods.monthEndsAt);
    return denial;
  }

  async settle(reservation: Reservation, actual: ActualUsage): Promise<SoftCrossing[]> {
    return this.settleNow(reservation, actual);
  }

  /** The synchronous settle. Settling twice is a no-op. */
  settleNow(reservation: Reservation, actual: ActualUsage): SoftCrossing[] {
    const held = reservation as MemoryReservation;
    if (held.settled) return [];
    held.settled = true;
    const { input } = held;
    const crossings: SoftCrossing[] = [];
    for (const level of input.levels) {
      const state = this.states.get(level.id);
      if (!state) continue;
      const { inputTpm, outputTpm } = level.limits;
      if (inputTpm !== undefined) state.inputTat = gcraAdjust(state.inputTat, actual.inputTokens - input.inputTokens, inputTpm);
      if (outputTpm !== undefined) state.outputTat = gcraAdjust(state.outputTat, actual.outputTokens - input.outputTokens, outputTpm);
      state.leases.delete(input.id);
      this.commit(level, state.day, input.periods.day, 'day', level.dailyMicros, input.costMicros, actual.costMicros, crossings);
      this.commit(level, state.month, input.periods.month, 'month', level.monthlyMicros, input.costMicros, actual.costMicros, crossings);
    }
    return crossings;
  }

  private commit(level: LimitLevel, period: SpendPeriod, key: string, name: 'day' | 'month', cap: number | undefined, reserved: number, cost: number, out: SoftCrossing[]): void {
    // A reservation made before midnight and settled after it was held in the old period, which
    // is gone; its cost lands in the period it ended in.
    if (period.key === key) period.reserved = Math.max(0, period.reserved - reserved);
    const spend = current(period, key);
    spend.committed += cost;
    if (cap !== undefined && !spend.alerted && spend.committed >= cap * level.softThreshold) {
      spend.alerted = true;
      out.push({ level, period: name, periodKey: key, spentMicros: spend.committed, capMicros: cap });
    }
  }

  async seedSpend(levelId: string, periods: BudgetPeriods, dailyMicros: number, monthlyMicros: number): Promise<void> {
    const state = this.state(levelId, periods);
    current(state.day, periods.day).committed = dailyMicros;
    current(state.month, periods.month).committed = monthlyMicros;
  }
}
