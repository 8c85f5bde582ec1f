export { toCanonical, toNative, unwrittenOwner, nativeFieldsOf, nativeFieldsToRead, objectMapping, type CanonicalRead } from './apply';
export { compileMapping, ownersOnly, MappingSpecError, type CompiledMapping, type CompiledObjectMapping, type MappingIssue } from './compile';
export { MappingValueError, calendarDate, zonedMidnightToEpochMs } from './convert';
export * from './spec';
export { ambiguousOwners, ownerIdForEmail, ownerIdOf, readOwner, writeOwner } from './owners';
