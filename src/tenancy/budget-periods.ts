import type { BudgetPeriods } from './limit-store.js';

const DAY_MS = 86_400_000;

/** The wall-clock fields of `at` in `timeZone`. */
function partsIn(formatter: Intl.DateTimeFormat, at: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const part of formatter.formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour! % 24, minute: parts.minute!, second: parts.second! };
}

const pad = (n: number) => String(n).padStart(2, '0');

/**
 * Daily and monthly budget periods in a time zone (SPEC MT-12: calendar budgets in
 * `budgets.timezone`). Time zone arithmetic is slow, so the periods are computed once and reused
 * until the day ends; a request pays one comparison.
 */
export class BudgetCalendar {
  private readonly formatter: Intl.DateTimeFormat | undefined;
  private cached: BudgetPeriods | undefined;
  private startsAt = Infinity;

  constructor(readonly timeZone = 'UTC') {
    this.formatter =
      timeZone === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** The periods `now` falls in. */
  at(now: number): BudgetPeriods {
    const cached = this.cached;
    if (cached && now >= this.startsAt && now < cached.dayEndsAt) return cached;
    const periods = this.compute(now);
    this.cached = periods;
    return periods;
  }

  private compute(now: number): BudgetPeriods {
    const local = this.formatter ? partsIn(this.formatter, now) : utcParts(now);
    const sinceMidnight = ((local.hour * 60 + local.minute) * 60 + local.second) * 1000 + (now % 1000 + 1000) % 1000;
    const dayStart = now - sinceMidnight;
    this.startsAt = dayStart;
    const daysInMonth = new Date(Date.UTC(local.year, local.month, 0)).getUTCDate();
    // Day lengths differ on DST changes; the next day start is found by asking the zone again.
    const dayEndsAt = this.nextMidnight(dayStart);
    let monthEndsAt = dayEndsAt;
    for (let d = local.day; d < daysInMonth; d++) monthEndsAt = this.nextMidnight(monthEndsAt);
    return {
      day: `${local.year}-${pad(local.month)}-${pad(local.day)}`,
      month: `${local.year}-${pad(local.month)}`,
      dayEndsAt,
      monthEndsAt,
    };
  }

  private nextMidnight(dayStart: number): number {
    if (!this.formatter) return dayStart + DAY_MS;
    // Local midnight is 23, 24 or 25 hours later; probe at +25 h and step back to its midnight.
    const probe = dayStart + DAY_MS + 3_600_000;
    const local = partsIn(this.formatter, probe);
    return probe - ((local.hour * 60 + local.minute) * 60 + local.second) * 1000;
  }

  /** When the month of `now` began, for seeding spend from the ledger. */
  monthStart(now: number): number {
    const periods = this.at(now);
    const day = Number(periods.day.slice(8));
    let start = this.startsAt;
    for (let d = day; d > 1; d--) start = this.previousMidnight(start);
    return start;
  }

  /** When the day of `now` began. */
  dayStart(now: number): number {
    this.at(now);
    return this.startsAt;
  }

  private previousMidnight(dayStart: number): number {
    if (!this.formatter) return dayStart - DAY_MS;
    const probe = dayStart - DAY_MS + 3_600_000;
    const local = partsIn(this.formatter, probe);
    return probe - ((local.hour * 60 + local.minute) * 60 + local.second) * 1000;
  }
}

function utcParts(now: number) {
  const date = new Date(now);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: date.getUTCHours(), minute: date.getUTCMinutes(), second: date.getUTCSeconds() };
}
