import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronSchedule } from '../src/core/cron-schedule.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('CronSchedule (keep-warm schedules, UTC)', () => {
  it('fires at the next matching minute, strictly after the given time', () => {
    const every5 = CronSchedule.parse('*/5 * * * *');
    assert.equal(iso(every5.next(at('2026-11-27T20:41:30Z'))), '2026-11-27T20:45:00.000Z');
    assert.equal(iso(every5.next(at('2026-11-27T20:45:00Z'))), '2026-11-27T20:50:00.000Z');
    assert.equal(iso(CronSchedule.parse('* * * * *').next(at('2026-11-27T23:59:59.999Z'))), '2026-11-28T00:00:00.000Z');
  });

  it('handles ranges, lists and steps within ranges', () => {
    const weekdayMornings = CronSchedule.parse('0 9 * * 1-5');
    // 2026-11-27 is a Friday: the next weekday 09:00 after Friday 10:00 is Monday.
    assert.equal(iso(weekdayMornings.next(at('2026-11-27T10:00:00Z'))), '2026-11-30T09:00:00.000Z');
    const list = CronSchedule.parse('15,45 8-18/5 * * *');
    assert.equal(iso(list.next(at('2026-11-27T08:20:00Z'))), '2026-11-27T08:45:00.000Z');
    assert.equal(iso(list.next(at('2026-11-27T08:45:00Z'))), '2026-11-27T13:15:00.000Z');
  });

  it('with both day fields restricted, either one matching fires (as cron does); Sunday is 0 or 7', () => {
    const firstOrSunday = CronSchedule.parse('0 0 1 * 7');
    assert.equal(iso(firstOrSunday.next(at('2026-11-27T00:00:00Z'))), '2026-11-29T00:00:00.000Z');
    assert.equal(iso(firstOrSunday.next(at('2026-11-29T00:00:00Z'))), '2026-12-01T00:00:00.000Z');
  });

  it('rejects malformed expressions with the field at fault, and ones that never fire', () => {
    assert.throws(() => CronSchedule.parse('* * * *'), /expected 5 fields/);
    assert.throws(() => CronSchedule.parse('60 * * * *'), /minute: 60 is outside 0-59/);
    assert.throws(() => CronSchedule.parse('* * * 13 *'), /month: 13 is outside 1-12/);
    assert.throws(() => CronSchedule.parse('*/x * * * *'), /minute: 'x' is not a number/);
    assert.throws(() => CronSchedule.parse('* 5-2 * * *'), /hour: range 5-2 runs backwards/);
    assert.throws(() => CronSchedule.parse('0 0 30 2 *'), /never fires/);
  });
});
