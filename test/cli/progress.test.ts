import { describe, expect, it } from 'vitest';
import { etaMs, formatDuration, RateMeter, renderBar, renderPlainLine } from '../../src/cli/progress';

/** The backfill progress display's pure parts: what the bar and the plain line say for a known total. */
describe('backfill progress display', () => {
  it('shows done/total, percent, rate and ETA when the total is known', () => {
    const view = { label: 'contact from acme-sf', state: 'running', done: 1_500, total: 6_000, rate: 500, elapsedMs: 3_000 };
    expect(etaMs(view)).toBe(9_000);
    expect(renderBar(view, 20)).toBe('contact from acme-sf [#####...............] 1,500/6,000 25%  500 rec/s  ETA 0:09  running');
    expect(renderPlainLine(view)).toBe('contact from acme-sf: running, 1500/6000 records, 500 rec/s, elapsed 0:03, ETA 0:09');
  });

  it('measures the rate from the first sample and restarts it when the count goes back (a new run)', () => {
    const meter = new RateMeter();
    expect(meter.sample(0, 100)).toBeUndefined();
    expect(meter.sample(2_000, 1_100)).toBe(500);
    expect(meter.sample(3_000, 50)).toBeUndefined();
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});
