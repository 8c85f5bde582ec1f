/**
 * Dataverse's error envelope `{"error":{"code":"0x...","message":"..."}}` [D9]. Thrown anywhere
 * in request handling and rendered once, so single requests and $batch parts fail identically.
 */
export class DataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** The hex codes the sandbox answers with; the source of each is listed in the README. */
export const ErrorCodes = {
  recordNotFound: '0x80040217',
  duplicateKey: '0x80040237',
  versionMismatch: '0x80060882',
  odataQuery: '0x80060888',
  resourceNotFound: '0x8006088a',
  requestsLimit: '0x80072322',
  executionTimeLimit: '0x80072321',
  concurrencyLimit: '0x80072326',
  expiredVersionStamp: '0x80044352',
  unexpected: '0x80040216',
  stringTooLong: '0x80044331',
  optionOutOfRange: '0x8004431a',
  // UNCONFIRMED: the code and wording for a disabled user made owner [D73].
  userDisabled: '0x80040225',
  // UNCONFIRMED: the code for a statuscode outside its statecode.
  invalidStateStatus: '0x8004431a',
} as const;

/** A text longer than the column's MaxLength [D25]. */
export function stringTooLong(logicalName: string, column: string, maxLength: number): DataverseError {
  return new DataverseError(400, ErrorCodes.stringTooLong, `A validation error occurred. The length of the '${column}' attribute of the '${logicalName}' entity exceeded the maximum allowed length of '${maxLength}'.`);
}

/** A choice value the column's option set does not hold [D26]. */
export function optionOutOfRange(logicalName: string, column: string, value: number, options: readonly number[]): DataverseError {
  return new DataverseError(400, ErrorCodes.optionOutOfRange, `A validation error occurred. The value ${value} of '${column}' on record of type '${logicalName}' is outside the valid range. Accepted Values: ${options.join(',')}`);
}

export function badQuery(message: string): DataverseError {
  return new DataverseError(400, ErrorCodes.odataQuery, message);
}

export function propertyNotFound(property: string, logicalName: string): DataverseError {
  return badQuery(`Could not find a property named '${property}' on type 'Microsoft.Dynamics.CRM.${logicalName}'.`);
}

export function recordNotFound(logicalName: string, id: string): DataverseError {
  return new DataverseError(404, ErrorCodes.recordNotFound, `${logicalName} With Id = ${id} Does Not Exist`);
}

export function keyNotFound(logicalName: string): DataverseError {
  return new DataverseError(404, ErrorCodes.recordNotFound, `A record with the specified key values does not exist in ${logicalName} entity`);
}

export function duplicateKey(): DataverseError {
  return new DataverseError(412, ErrorCodes.duplicateKey, 'A record with matching key values already exists.');
}

export function versionMismatch(): DataverseError {
  return new DataverseError(412, ErrorCodes.versionMismatch, "The version of the existing record doesn't match the RowVersion property provided.");
}

/** A record given a disabled user as owner (code and wording UNCONFIRMED [D73]). */
export function userDisabled(id: string): DataverseError {
  return new DataverseError(400, ErrorCodes.userDisabled, `The specified user(Id = ${id}) is disabled. Consider enabling this user.`);
}
