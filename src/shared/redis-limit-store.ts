import type { ActualUsage, BudgetPeriods, Denial, Dimension, LimitLevel, LimitStore, RateState, Reservation, ReserveInput, ReserveResult, SoftCrossing } from '../tenancy/limit-store.js';
import { RESERVE_SCRIPT, SEED_SCRIPT, SETTLE_SCRIPT } from './limit-scripts.js';
import type { RedisLink } from './redis-connection.js';

interface ScriptDenial {
  ok: false;
  i: number;
  dim: Dimension;
  limit: number;
  retry?: number;
  remaining?: number;
  reset?: number;
  spent?: number;
}

interface ScriptCrossing {
  i: number;
  period: 'day' | 'month';
  key: string;
  spent: number;
  cap: number;
}

class RedisReservation implements Reservation {
  settled = false;
  constructor(readonly input: ReserveInput) {}
}

/**
 * The hash tag of a request's principal levels (SPEC STO-5): its org, else its key. Every counter
 * of one tenant lands in one Cluster slot, so the script touching them all is Cluster-safe.
 * Deployment levels are shared by tenants and keep their own tag (see docs/deployment.md).
 */
function tenantTag(levels: readonly LimitLevel[]): string {
  return (levels.find((level) => level.kind === 'org') ?? levels.find((level) => level.kind === 'key') ?? levels[0])?.id ?? 'none';
}

/**
 * The scale-out LimitStore (SPEC §2.4, MT-12, PERF-5): `reserve` and `settle` are one Lua script
 * call each, checking and reserving every level and dimension atomically on Redis server time.
 */
export class RedisLimitStore implements LimitStore {
  constructor(private readonly redis: RedisLink) {}

  private keys(levels: readonly LimitLevel[]): string[] {
    const tag = tenantTag(levels);
    const keys: string[] = [];
    for (const level of levels) {
      const base = `${this.redis.prefix}{${level.kind === 'deployment' ? level.id : tag}}:lim:${level.id}`;
      keys.push(base, `${base}:leases`);
    }
    return keys;
  }

  async reserve(input: ReserveInput): Promise<ReserveResult> {
    const { levels, periods } = input;
    const payload = {
      id: input.id,
      input: input.inputTokens,
      output: input.outputTokens,
      cost: input.costMicros,
      lease: Math.max(1, input.leaseUntil - input.now),
      day: periods.day,
      month: periods.month,
      dayEnds: periods.dayEndsAt,
      monthEnds: periods.monthEndsAt,
      clientNow: input.now,
      levels: levels.map((level) => ({
        rpm: level.limits.rpm,
        itpm: level.limits.inputTpm,
        otpm: level.limits.outputTpm,
        conc: level.limits.concurrency,
        share: level.share,
        daily: level.dailyMicros,
        monthly: level.monthlyMicros,
      })),
    };
    const reply = JSON.parse(String(await this.redis.evalScript(RESERVE_SCRIPT, this.keys(levels), [JSON.stringify(payload)]))) as { ok: true } | ScriptDenial;
    if (reply.ok) return { ok: true, reservation: new RedisReservation(input) };
    return { ok: false, denial: toDenial(reply, levels) };
  }

  async settle(reservation: Reservation, actual: ActualUsage): Promise<SoftCrossing[]> {
    const held = reservation as RedisReservation;
    if (held.settled) return [];
    held.settled = true;
    const { input } = held;
    const payload = {
      id: input.id,
      dIn: actual.inputTokens - input.inputTokens,
      dOut: actual.outputTokens - input.outputTokens,
      reserved: input.costMicros,
      cost: actual.costMicros,
      day: input.periods.day,
      month: input.periods.month,
      levels: input.levels.map((level) => ({
        itpm: level.limits.inputTpm,
        otpm: level.limits.outputTpm,
        daily: level.dailyMicros,
        monthly: level.monthlyMicros,
        soft: level.softThreshold,
      })),
    };
    const reply = JSON.parse(String(await this.redis.evalScript(SETTLE_SCRIPT, this.keys(input.levels), [JSON.stringify(payload)]))) as unknown;
    if (!Array.isArray(reply)) return [];
    return (reply as ScriptCrossing[]).map((c) => ({ level: input.levels[c.i - 1]!, period: c.period, periodKey: c.key, spentMicros: c.spent, capMicros: c.cap }));
  }

  async seedSpend(levelId: string, periods: BudgetPeriods, dailyMicros: number, monthlyMicros: number): Promise<void> {
    // Seeded levels are principals; their tag is the org when the id names one, else the level itself.
    const key = `${this.redis.prefix}{${levelId}}:lim:${levelId}`;
    if (!levelId.startsWith('org:') && !levelId.startsWith('key:')) return; // team/user tags depend on their org: seeded lazily by settles
    await this.redis.evalScript(SEED_SCRIPT, [key], [periods.day, periods.month, String(dailyMicros), String(monthlyMicros)]);
  }
}

function toDenial(reply: ScriptDenial, levels: readonly LimitLevel[]): Denial {
  const level = levels[reply.i - 1]!;
  const denial: Denial = { level, dimension: reply.dim, limit: reply.limit, retryAfterMs: reply.retry };
  if (reply.spent !== undefined) denial.spentMicros = reply.spent;
  if (reply.reset !== undefined && reply.remaining !== undefined) {
    const window = { limit: reply.limit, remaining: reply.remaining, resetMs: reply.reset };
    const rate: RateState = reply.dim === 'requests' ? { level, requests: window } : { level, tokens: window };
    denial.rate = rate;
  }
  return denial;
}
