export { toCanonical, toNative, nativeFieldsOf, nativeFieldsToRead, objectMapping, type CanonicalRead } from './apply';
export { compileMapping, MappingSpecError, type CompiledMapping, type CompiledObjectMapping, type MappingIssue } from './compile';
export { MappingValueError, calendarDate, zonedMidnightToEpochMs } from './convert';
export * from './spec';
