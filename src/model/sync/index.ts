export { ChangeBuffer, SeenEventIds, type ChangeRef } from './change-buffer';
export { conflictPolicySchema, objectConflictPoliciesSchema, policyFor, type ConflictPolicy, type ObjectConflictPolicies } from './conflict-policy';
export { canonicalWrites, emptyCanonicalRecord, fieldsLosingToRecordStamp, fieldsWinningByRecordStamp, mergeObservation, withFieldEditTimes, type CanonicalRecordState, type FieldDecision, type FieldProvenance, type MergeResult, type Observation } from './canonical-merge';
export { changedUnderHeldStamp, clockPrecisionMs, compareEditTimes, stampPrecisionMs, type EditTime } from './edit-time';
export { flattenFields, hasFields, isEmptyValue, overlayFields, sameValue, unflattenFields } from './values';
export { countWithin, massDeleteVerdict, type AppliedDeletions, type MassDeleteGuard, type MassDeleteVerdict } from './mass-delete-guard';
export {
  hasReferenceFields,
  isReferenceField,
  observedReferenceFields,
  referencedIds,
  referencesHeld,
  referenceSlotOf,
  referencesToWrite,
  unreadReferenceFields,
  withoutReferenceFields,
  type PendingReference,
} from './reference-fields';
