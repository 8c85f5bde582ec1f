/**
 * The backfill progress display, as pure functions of what was observed: the CLI samples the
 * backfill's progress query and renders either a bar redrawn in place (a terminal) or one plain
 * line per sample (a pipe or a log file, where carriage returns would be noise).
 */

export interface ProgressView {
  label: string;
  state: string;
  done: number;
  /** Records expected in all, when known. */
  total?: number | undefined;
  /** Records per second since watching began, once two samples exist. */
  rate?: number | undefined;
  elapsedMs: number;
}

/** Rate since the first sample: honest for a bulk load whose pages arrive in bursts. */
export class RateMeter {
  private first: { at: number; done: number } | undefined;

  sample(at: number, done: number): number | undefined {
    if (!this.first || done < this.first.done) {
      this.first = { at, done };
      return undefined;
    }
    const seconds = (at - this.first.at) / 1000;
    return seconds > 0 ? (done - this.first.done) / seconds : undefined;
  }
}

const number = new Intl.NumberFormat('en-US');

export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

function rateText(rate: number | undefined): string {
  return rate === undefined ? '- rec/s' : `${number.format(Math.round(rate))} rec/s`;
}

/** Seconds left, when both a total and a positive rate are known. */
export function etaMs(view: Pick<ProgressView, 'done' | 'total' | 'rate'>): number | undefined {
  if (view.total === undefined || !view.rate || view.rate <= 0) return undefined;
  return (Math.max(0, view.total - view.done) / view.rate) * 1000;
}

/** One terminal line: a bar when the total is known, a bouncing marker when it is not. */
export function renderBar(view: ProgressView, width = 24): string {
  let bar: string;
  let counts: string;
  if (view.total !== undefined && view.total > 0) {
    const fraction = Math.min(1, view.done / view.total);
    const filled = Math.round(fraction * width);
    bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    counts = `${number.format(view.done)}/${number.format(view.total)} ${Math.floor(fraction * 100)}%`;
  } else {
    const position = Math.floor(view.elapsedMs / 250) % (2 * (width - 3));
    const at = position < width - 3 ? position : 2 * (width - 3) - position;
    bar = `${' '.repeat(at)}<=>${' '.repeat(width - 3 - at)}`;
    counts = `${number.format(view.done)} records`;
  }
  const eta = etaMs(view);
  return `${view.label} [${bar}] ${counts}  ${rateText(view.rate)}  ${eta === undefined ? `elapsed ${formatDuration(view.elapsedMs)}` : `ETA ${formatDuration(eta)}`}  ${view.state}`;
}

/** One line for a pipe: same facts, no drawing. */
export function renderPlainLine(view: ProgressView): string {
  const eta = etaMs(view);
  const total = view.total === undefined ? '' : `/${view.total}`;
  return `${view.label}: ${view.state}, ${view.done}${total} records, ${rateText(view.rate)}, elapsed ${formatDuration(view.elapsedMs)}${eta === undefined ? '' : `, ETA ${formatDuration(eta)}`}`;
}
