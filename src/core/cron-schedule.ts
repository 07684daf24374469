const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead a fire time is looked for: past this, an expression (say `0 0 30 2 *`) never fires. */
const HORIZON_MS = 5 * 366 * DAY_MS;

interface Field {
  name: string;
  min: number;
  max: number;
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
];

function parseNumber(text: string, field: Field): number {
  if (!/^\d+$/.test(text)) throw new Error(`${field.name}: '${text}' is not a number`);
  const value = Number(text);
  if (value < field.min || value > field.max) throw new Error(`${field.name}: ${value} is outside ${field.min}-${field.max}`);
  return value;
}

/** One field as the set of values it allows; `restricted` is false for `*`. */
function parseField(text: string, field: Field): { allowed: Set<number>; restricted: boolean } {
  const allowed = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : parseNumber(stepText, { ...field, min: 1 });
    let from = field.min;
    let to = field.max;
    if (range !== '*') {
      const [start, end] = range!.split('-');
      from = parseNumber(start!, field);
      to = end === undefined ? (stepText === undefined ? from : field.max) : parseNumber(end, field);
      if (to < from) throw new Error(`${field.name}: range ${range} runs backwards`);
    }
    for (let value = from; value <= to; value += step) allowed.add(value);
  }
  return { allowed, restricted: text !== '*' };
}

/**
 * A five-field cron expression (minute, hour, day of month, month, day of week; UTC) for
 * keep-warm schedules (SPEC CS-4): `*`, lists `a,b`, ranges `a-b`, and steps after `*` or a range
 * (`a-b/n`; `/n` after `*` means every n).
 * As in cron, when both day fields are restricted a day matching either fires; Sunday is 0 or 7.
 */
export class CronSchedule {
  private constructor(
    readonly expression: string,
    private readonly minutes: Set<number>,
    private readonly hours: Set<number>,
    private readonly daysOfMonth: Set<number>,
    private readonly months: Set<number>,
    private readonly daysOfWeek: Set<number>,
    private readonly dayRule: 'both' | 'month' | 'week' | 'any',
  ) {}

  /** Parses `expression`; throws an Error naming the field at fault, or saying it never fires. */
  static parse(expression: string): CronSchedule {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 5) throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
    const [minute, hour, dom, month, dow] = parts.map((part, i) => parseField(part, FIELDS[i]!));
    const daysOfWeek = new Set([...dow!.allowed].map((day) => day % 7));
    const dayRule = dom!.restricted && dow!.restricted ? 'both' : dom!.restricted ? 'month' : dow!.restricted ? 'week' : 'any';
    const schedule = new CronSchedule(expression, minute!.allowed, hour!.allowed, dom!.allowed, month!.allowed, daysOfWeek, dayRule);
    if (schedule.next(0) === undefined) throw new Error(`'${expression}' never fires`);
    return schedule;
  }

  /** The first fire time strictly after `after` (ms since the epoch), or undefined if none within five years. */
  next(after: number): number | undefined {
    let at = Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
    const limit = after + HORIZON_MS;
    while (at <= limit) {
      const date = new Date(at);
      if (!this.months.has(date.getUTCMonth() + 1)) {
        at = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
      } else if (!this.dayMatches(date)) {
        at = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
      } else if (!this.hours.has(date.getUTCHours())) {
        at = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate(), date.getUTCHours() + 1);
      } else if (!this.minutes.has(date.getUTCMinutes())) {
        at += MINUTE_MS;
      } else {
        return at;
      }
    }
    return undefined;
  }

  private dayMatches(date: Date): boolean {
    const inMonth = this.daysOfMonth.has(date.getUTCDate());
    const inWeek = this.daysOfWeek.has(date.getUTCDay());
    switch (this.dayRule) {
      case 'both':
        return inMonth || inWeek;
      case 'month':
        return inMonth;
      case 'week':
        return inWeek;
      case 'any':
        return true;
    }
  }
}
