import { MappingValueError, objectMapping, type CompiledMapping } from '../../model/mapping';
import type { ObjectType } from '../../model/identifiers';
import type { UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError } from '../errors';
import { toSalesforce, type SalesforceRecord } from './record-mapper';

/** Inputs mapped to Salesforce bodies; a value the mapping cannot express fails only its record. */
export interface Prepared {
  index: number;
  input: UpsertInput;
  body: SalesforceRecord;
}

export function prepareInputs(
  mapping: CompiledMapping,
  objectType: ObjectType,
  inputs: readonly UpsertInput[],
): { prepared: Prepared[]; outcomes: (UpsertOutcome | undefined)[] } {
  const outcomes: (UpsertOutcome | undefined)[] = inputs.map(() => undefined);
  const prepared: Prepared[] = [];
  inputs.forEach((input, index) => {
    try {
      prepared.push({ index, input, body: toSalesforce(mapping, objectType, input) });
    } catch (error) {
      if (!(error instanceof MappingValueError)) throw error;
      outcomes[index] = {
        syncId: input.syncId,
        status: 'failed',
        error: { provider: 'salesforce', errorClass: 'validation', message: error.message, fieldErrors: [{ field: error.field, message: error.message }] },
      };
    }
  });
  return { prepared, outcomes };
}

/** Vendor field names in field errors -> canonical names where the mapping knows them. */
export function canonicalFieldErrors(mapping: CompiledMapping, objectType: ObjectType, error: ConnectorError): ConnectorError {
  if (!error.fieldErrors) return error;
  const byNative = new Map(objectMapping(mapping, objectType).writes.map((field) => [field.native.toLowerCase(), field.canonical]));
  return new ConnectorError({
    ...error.toInfo(),
    message: error.message.replace(/^salesforce \S+( \S+)?: /, ''),
    fieldErrors: error.fieldErrors.map((fieldError) => ({ ...fieldError, field: byNative.get(fieldError.field.toLowerCase()) ?? fieldError.field })),
  });
}

export function failed(input: UpsertInput, error: ConnectorError): UpsertOutcome {
  return { syncId: input.syncId, status: 'failed', error: error.toInfo() };
}
