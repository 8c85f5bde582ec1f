import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { afterProgress } from '../../src/activities/failures';
import { ConnectorError } from '../../src/connectors/errors';

const failure = (errorClass: ConnectorError['errorClass'], retryAfterMs?: number) => new ConnectorError({ provider: 'hubspot', errorClass, message: `${errorClass} failure`, retryAfterMs });

describe('afterProgress: the next attempt of an activity that got somewhere', () => {
  it('starts after a second, not after the grown backoff, for a transient failure', () => {
    const result = afterProgress(failure('transient')) as ApplicationFailure;
    expect(result).toBeInstanceOf(ApplicationFailure);
    expect(result).toMatchObject({ type: 'transient', nonRetryable: false, nextRetryDelay: 1_000, message: 'hubspot transient: transient failure' });
    expect(result.details).toEqual([expect.objectContaining({ errorClass: 'transient' })]);
  });

  it("keeps the vendor's own hint for a 429, and what retrying cannot cure stays unretried", () => {
    expect(afterProgress(failure('rate-limited', 10_000))).toMatchObject({ type: 'rate-limited', nextRetryDelay: 10_000 });
    expect(afterProgress(failure('validation'))).toMatchObject({ type: 'validation', nonRetryable: true, nextRetryDelay: undefined });
  });

  it('leaves a stopped attempt prompt too, and anything unclassified to the backoff', () => {
    expect(afterProgress(ApplicationFailure.retryable('page attempt stopped', 'AttemptStopped'))).toMatchObject({ type: 'AttemptStopped', nextRetryDelay: 1_000 });
    const unknown = new Error('socket hang up');
    expect(afterProgress(unknown)).toBe(unknown);
  });
});
