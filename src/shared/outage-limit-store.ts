import { BreakwaterError } from '../core/errors.js';
import type { ActualUsage, BudgetPeriods, LimitLevel, LimitStore, Reservation, ReserveInput, ReserveResult, SoftCrossing } from '../tenancy/limit-store.js';
import { MemoryLimitStore } from '../tenancy/memory-limit-store.js';
import type { RedisLink } from './redis-connection.js';

/** What limits and budgets do while Redis is unreachable (SPEC MT-14). */
export interface OutagePolicy {
  /** `local`: each replica enforces `limit ÷ replicas` in memory; `open`: unlimited; `closed`: refuse. */
  limits: 'local' | 'open' | 'closed';
  /** `closed` refuses requests under a budget (spend cannot be checked); `open` admits them unchecked. */
  budgets: 'closed' | 'open';
  replicas: number;
}

class FallbackReservation implements Reservation {
  constructor(
    readonly input: ReserveInput,
    readonly local: Reservation | undefined,
  ) {}
}

const hasBudget = (level: LimitLevel) => level.dailyMicros !== undefined || level.monthlyMicros !== undefined;
const hasRate = (level: LimitLevel) => Object.values(level.limits).some((value) => value !== undefined);
const share = (limit: number | undefined, replicas: number) => (limit === undefined ? undefined : Math.max(1, Math.floor(limit / replicas)));

function unavailable(what: string, setting: string): BreakwaterError {
  return new BreakwaterError('overloaded', `the shared limit store (Redis) is unreachable and ${what} fail closed (${setting})`, {
    headers: { 'retry-after': '1' },
  });
}

/**
 * The Redis LimitStore behind its outage policy (SPEC MT-14): while Redis answers, every reserve
 * goes to it; while it does not, the policy decides, and the first successful call after it
 * returns puts everything back on Redis, with no restart. Reservations remember where they were
 * made so each settles in the same place.
 */
export class OutageAwareLimitStore implements LimitStore {
  private readonly local = new MemoryLimitStore();
  private readonly scaled = new WeakMap<LimitLevel, LimitLevel>();
  private failing: string | undefined;

  constructor(
    private readonly shared: LimitStore,
    private readonly redis: RedisLink,
    private readonly policy: OutagePolicy,
    private readonly onOutage: (error: string | undefined) => void = () => {},
  ) {}

  /** For `/readyz` and metrics: undefined while Redis answers, else what is happening instead. */
  get degraded(): string | undefined {
    if (this.redis.ready && this.failing === undefined) return undefined;
    const { limits, budgets, replicas } = this.policy;
    const mode = limits === 'local' ? `local share (1/${replicas} of each limit)` : limits;
    return `redis unreachable (${this.failing ?? this.redis.lastError ?? 'connecting'}); limits: ${mode}, budgets: ${budgets}`;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    if (this.redis.ready) {
      try {
        const result = await this.shared.reserve(input);
        this.mark(undefined);
        return result;
      } catch (error) {
        this.mark(error instanceof Error ? error.message : String(error));
      }
    }
    return this.fallback(input);
  }

  private mark(error: string | undefined): void {
    if (error === this.failing) return;
    this.failing = error;
    this.onOutage(error);
  }

  private fallback(input: ReserveInput): ReserveResult {
    const { limits, budgets } = this.policy;
    if (budgets === 'closed' && input.levels.some(hasBudget)) throw unavailable('budgets', 'shared.outage.budgets: closed');
    if (limits === 'closed' && input.levels.some(hasRate)) throw unavailable('limits', 'shared.outage.limits: closed');
    const levels = input.levels.map((level) => this.localLevel(level));
    if (!levels.some((level) => hasRate(level) || hasBudget(level))) return { ok: true, reservation: new FallbackReservation(input, undefined) };
    const result = this.local.reserveNow({ ...input, levels });
    if (!result.ok) return { ok: false, denial: { ...result.denial, level: input.levels[levels.indexOf(result.denial.level)] ?? result.denial.level } };
    return { ok: true, reservation: new FallbackReservation(input, result.reservation) };
  }

  /** The level as this replica enforces it alone: its share of each limit (or none), budgets only when open. */
  private localLevel(level: LimitLevel): LimitLevel {
    let local = this.scaled.get(level);
    if (!local) {
      const { replicas } = this.policy;
      const open = this.policy.limits === 'open';
      const { rpm, inputTpm, outputTpm, concurrency } = level.limits;
      local = {
        ...level,
        limits: open ? {} : { rpm: share(rpm, replicas), inputTpm: share(inputTpm, replicas), outputTpm: share(outputTpm, replicas), concurrency: share(concurrency, replicas) },
        // Budgets reach here only when open: not enforced at all.
        dailyMicros: undefined,
        monthlyMicros: undefined,
      };
      this.scaled.set(level, local);
    }
    return local;
  }

  async settle(reservation: Reservation, actual: ActualUsage): Promise<SoftCrossing[]> {
    if (reservation instanceof FallbackReservation) return reservation.local ? this.local.settleNow(reservation.local, actual) : [];
    return this.shared.settle(reservation, actual);
  }

  async seedSpend(levelId: string, periods: BudgetPeriods, dailyMicros: number, monthlyMicros: number): Promise<void> {
    try {
      await this.shared.seedSpend(levelId, periods, dailyMicros, monthlyMicros);
    } catch (error) {
      this.mark(error instanceof Error ? error.message : String(error));
    }
  }
}
