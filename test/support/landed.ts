import type { UpsertOutcome } from '../../src/connectors/connector';

export type Landed = Extract<UpsertOutcome, { status: 'created' | 'updated' | 'unchanged' }>;

/** A write's outcome that must have landed (created, updated or unchanged); anything else fails the test with the outcome. */
export function landed(outcome: UpsertOutcome | undefined): Landed {
  if (!outcome || (outcome.status !== 'created' && outcome.status !== 'updated' && outcome.status !== 'unchanged')) throw new Error(`not written: ${JSON.stringify(outcome)}`);
  return outcome;
}
