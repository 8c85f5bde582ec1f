import { describe, expect, it } from 'vitest';
import { CalendarDayCount } from '../../src/sandbox/core/calendar-day';

describe('CalendarDayCount (sandbox daily quotas)', () => {
  it('counts within a UTC day and starts again at midnight, not 24 hours after the first use', () => {
    let now = Date.parse('2026-11-23T23:00:00.000Z');
    const today = new CalendarDayCount(() => now);
    today.add(5);
    today.add(2);
    expect(today.used).toBe(7);
    expect(today.resetsAt()).toBe('2026-11-24T00:00:00.000Z');

    now = Date.parse('2026-11-23T23:59:59.999Z');
    expect(today.used).toBe(7);
    now = Date.parse('2026-11-24T00:00:00.000Z');
    expect(today.used).toBe(0);
    today.add(1);
    expect(today.used).toBe(1);
    expect(today.resetsAt()).toBe('2026-11-25T00:00:00.000Z');
  });
});
