import { Context } from '@temporalio/activity';

/**
 * Runs `work`, heartbeating while it runs when it runs as an activity with a heartbeat timeout:
 * a worker that dies mid-write then has its activity retried once that timeout passes, not after
 * the whole start-to-close timeout (minutes in which the connection waits). The heartbeat carries
 * no details: these activities resume nothing, they redo their idempotent work.
 */
export async function keptAlive<T>(work: () => Promise<T>): Promise<T> {
  const timeoutMs = currentContext()?.info.heartbeatTimeoutMs;
  if (!timeoutMs) return work();
  const context = currentContext() as Context;
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), Math.max(10, Math.floor(timeoutMs / 3)));
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    // Called outside an activity (a test, a CLI path): nothing to keep alive.
    return undefined;
  }
}
