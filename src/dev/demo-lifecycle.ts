/**
 * What the demo started, stopped in reverse order on Ctrl-C. One failing stop is reported and
 * the rest still run, so a dead dev server cannot leave the sandboxes or the shim listening.
 */
export class StartedParts {
  private readonly parts: { name: string; stop: () => Promise<void> }[] = [];

  add(name: string, stop: () => Promise<void>): void {
    this.parts.push({ name, stop });
  }

  /** Stops everything added, last first; returns the names of parts whose stop failed. */
  async stopAll(log: (line: string) => void): Promise<string[]> {
    const failed: string[] = [];
    for (const part of this.parts.splice(0).reverse()) {
      try {
        await part.stop();
      } catch (error) {
        failed.push(part.name);
        log(`Stopping ${part.name} failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      }
    }
    return failed;
  }
}

/** Settles like `work`, or rejects with the abort reason as soon as `signal` aborts (Ctrl-C during start-up). */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The reason the demo aborts with on Ctrl-C / SIGTERM: a normal stop, not a failure. */
export class StopRequested extends Error {
  constructor(signal: NodeJS.Signals) {
    super(`${signal} received`);
    this.name = 'StopRequested';
  }
}
