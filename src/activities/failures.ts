import { ApplicationFailure } from '@temporalio/common';
import { ConnectorError, type ErrorClass } from '../connectors/errors';
import { MappingValueError } from '../model/mapping';
import { recordNeedsReauth } from '../observability/metrics';

/**
 * The one place a ConnectorError becomes a Temporal failure. The failure's type is the error
 * class, so workflow code and retry policies decide by class without knowing the vendor:
 * transient failures use the activity's backoff; rate and quota failures wait for the vendor's
 * own hint (nextRetryDelay); everything else is not retried by Temporal (the workflow parks the
 * record, or waits for re-authorisation).
 */
const retryableClasses = new Set<ErrorClass>(['transient', 'rate-limited', 'quota-exhausted']);

export function toApplicationFailure(error: unknown): unknown {
  if (error instanceof MappingValueError) {
    // A vendor value the mapping cannot read (a picklist value missing from the map): retrying
    // cannot help, the record is parked until the mapping is fixed. The workflow names the CRM.
    return ApplicationFailure.create({
      type: 'validation',
      message: error.message,
      nonRetryable: true,
      details: [{ errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] }],
      cause: error,
    });
  }
  if (!(error instanceof ConnectorError)) return error;
  return ApplicationFailure.create({
    type: error.errorClass,
    message: error.message,
    nonRetryable: !retryableClasses.has(error.errorClass),
    details: [error.toInfo()],
    ...(error.retryAfterMs !== undefined && retryableClasses.has(error.errorClass) ? { nextRetryDelay: error.retryAfterMs } : {}),
    cause: error,
  });
}

/**
 * The failure of an attempt that made progress (a backfill page that advanced its checkpoint):
 * the vendor answers, so the next attempt starts after the vendor's own hint or a second, not
 * after the backoff grown over earlier attempts (1 s, 4 s, 16 s, ... 256 s). Under steady faults
 * each attempt of a page writes part of it and then meets one failed call; with the grown backoff
 * a page waited minutes between attempts that each got somewhere. An attempt that got nowhere
 * keeps the backoff.
 */
export function afterProgress(error: unknown): unknown {
  const failure = toApplicationFailure(error);
  if (!(failure instanceof ApplicationFailure) || failure.nonRetryable || failure.nextRetryDelay !== undefined) return failure;
  return ApplicationFailure.create({
    type: failure.type ?? undefined,
    message: failure.message,
    nonRetryable: false,
    details: failure.details ?? undefined,
    nextRetryDelay: RETRY_AFTER_PROGRESS_MS,
    cause: failure.cause,
  });
}

const RETRY_AFTER_PROGRESS_MS = 1_000;

/** Wraps every activity so connector failures leave it already classified. */
export function classifyFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, activity]) => [
      name,
      async (...args: never[]) => {
        try {
          return await activity(...args);
        } catch (error) {
          if (error instanceof ConnectorError && error.errorClass === 'auth') recordNeedsReauth(error.provider, connectionOf(args[0]));
          throw toApplicationFailure(error);
        }
      },
    ]),
  ) as T;
}

/** The connection an activity's input names: the target of a write, else the one read. */
function connectionOf(input: unknown): string {
  if (typeof input !== 'object' || input === null) return 'unknown';
  const { targetConnectionId, connectionId } = input as { targetConnectionId?: unknown; connectionId?: unknown };
  const named = typeof targetConnectionId === 'string' ? targetConnectionId : connectionId;
  return typeof named === 'string' ? named : 'unknown';
}
