/**
 * System timestamps that strictly advance on every write, as the vendors' do
 * (SystemModstamp, hs_lastmodifieddate, modifiedon). Two writes in the same millisecond still get
 * distinct, ordered stamps, so "changed since T" queries are exact in tests.
 */
export class ModstampClock {
  private last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  next(): Date {
    this.last = Math.max(this.now(), this.last + 1);
    return new Date(this.last);
  }

  /** The latest stamp handed out (epoch ms). */
  latest(): number {
    return this.last;
  }
}
