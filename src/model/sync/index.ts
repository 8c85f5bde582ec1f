export { ChangeBuffer, SeenEventIds, type ChangeRef } from './change-buffer';
export { conflictPolicySchema, objectConflictPoliciesSchema, policyFor, type ConflictPolicy, type ObjectConflictPolicies } from './conflict-policy';
export { resolveFields, type FieldDecision, type ResolvedFields, type ResolveFieldsInput, type SyncSide } from './resolve-fields';
export { flattenFields, isEmptyValue, sameValue, unflattenFields } from './values';
export { countWithin, massDeleteVerdict, type AppliedDeletions, type MassDeleteGuard, type MassDeleteVerdict } from './mass-delete-guard';
