import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BackfillProgress } from './backfill-state';

/**
 * The backfill's messages, plain JSON on the wire, e.g.
 *   temporal workflow query --workflow-id backfill:acme:acme-sf:contact --type backfillProgress
 */
export const backfillProgressQuery = defineQuery<BackfillProgress>('backfillProgress');
/** Sent after an operator re-authorised a connection the backfill was waiting on. */
export const backfillReauthorisedSignal = defineSignal<[]>('backfillReauthorised');
