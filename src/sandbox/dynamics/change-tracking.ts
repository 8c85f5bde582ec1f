import { DataverseError, ErrorCodes } from './errors';

export const DEFAULT_DELTA_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Delta tokens in Dataverse's form, `<rowversion>!<MM/dd/yyyy HH:mm:ss>` [D11]: the version says
 * where the next delta starts, the date lets the server refuse tokens older than the retention
 * (7 days by default). `expireAll` models a table whose change tracking was reset.
 */
export class DeltaTokens {
  private floor = 0;

  constructor(
    private readonly now: () => number,
    private retentionMs = DEFAULT_DELTA_RETENTION_MS,
  ) {}

  issue(version: number): string {
    const date = new Date(this.now());
    const pad = (value: number): string => String(value).padStart(2, '0');
    const stamp = `${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
    return `${version}!${stamp}`;
  }

  /** The row version a token starts after; expired or unreadable tokens get the real fault. */
  resolve(token: string): number {
    const match = /^(\d+)!(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(token);
    if (!match) throw expired();
    const [, version, month, day, year, hours, minutes, seconds] = match;
    const issuedAt = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hours), Number(minutes), Number(seconds));
    if (Number.isNaN(issuedAt) || this.now() - issuedAt > this.retentionMs || Number(version) < this.floor) throw expired();
    return Number(version);
  }

  /** Every token issued up to `currentVersion` stops working. */
  expireAll(currentVersion: number): void {
    this.floor = currentVersion + 1;
  }

  setRetention(ms: number): void {
    this.retentionMs = ms;
  }
}

function expired(): DataverseError {
  return new DataverseError(400, ErrorCodes.expiredVersionStamp, 'Version stamp associated with the client has expired. Please perform a full sync.');
}
