const DAY_MS = 86_400_000;

/**
 * What a daily quota has used today. Vendors reset daily quotas at midnight (the server's; UTC
 * here), not over a rolling 24 h, so the count starts again at 0 on the first use of a new day.
 */
export class CalendarDayCount {
  private dayStart = 0;
  private count = 0;

  constructor(private readonly now: () => number) {}

  get used(): number {
    this.roll();
    return this.count;
  }

  add(amount: number): void {
    this.roll();
    this.count += amount;
  }

  /** The next midnight, when the count starts again (ISO 8601). */
  resetsAt(): string {
    this.roll();
    return new Date(this.dayStart + DAY_MS).toISOString();
  }

  private roll(): void {
    const start = Math.floor(this.now() / DAY_MS) * DAY_MS;
    if (start !== this.dayStart) {
      this.dayStart = start;
      this.count = 0;
    }
  }
}
