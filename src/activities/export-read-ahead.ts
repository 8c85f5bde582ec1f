import type { ExternalRecord } from '../connectors/connector';

export interface ExportPage {
  records: ExternalRecord[];
  nextCursor?: string | undefined;
}

/**
 * Reads the next export page while the current one is being written, so a backfill does not stop
 * at every page boundary to wait for the source. The next page activity usually runs on the same
 * worker right after this one and takes the page from here; on another worker it simply reads it
 * again (a cursor re-reads the same page). A failed read-ahead is forgotten, never reported: the
 * activity that needs the page reads it itself, under its own retry policy.
 */
export class ExportReadAhead {
  private readonly pages = new Map<string, { page: Promise<ExportPage | undefined>; expiresAt: number }>();

  constructor(
    /** Pages kept at most (one per backfill running on this worker is enough). */
    private readonly capacity = 4,
    /** A page nobody took in this long is dropped (its backfill moved to another worker or stopped). */
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts reading `cursor`'s page of `connectionId` in the background. */
  prefetch(connectionId: string, cursor: string, read: () => Promise<ExportPage>): void {
    this.dropExpired();
    while (this.pages.size >= this.capacity) this.pages.delete(this.pages.keys().next().value as string);
    const page = read().catch(() => undefined);
    this.pages.set(key(connectionId, cursor), { page, expiresAt: this.now() + this.ttlMs });
  }

  /** The page read ahead for `cursor`, or a fresh read when there is none or it failed. */
  async read(connectionId: string, cursor: string, read: () => Promise<ExportPage>): Promise<ExportPage> {
    this.dropExpired();
    const entry = this.pages.get(key(connectionId, cursor));
    this.pages.delete(key(connectionId, cursor));
    return (await entry?.page) ?? (await read());
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [name, entry] of this.pages) if (entry.expiresAt <= now) this.pages.delete(name);
  }
}

const key = (connectionId: string, cursor: string): string => `${connectionId}\u0000${cursor}`;
