import { randomUUID } from 'node:crypto';

/** HubSpot's standard error body: `status`, `message`, `correlationId`, `category` and optional extras. */
export interface HubSpotErrorBody {
  status: string;
  message: string;
  correlationId: string;
  category?: string;
  context?: Record<string, string[]>;
  errors?: unknown[];
  [extra: string]: unknown;
}

/** Thrown anywhere in a request; the server's error handler renders it as HubSpot would. */
export class HubSpotError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: HubSpotErrorBody,
  ) {
    super(body.message);
  }
}

export function errorBody(message: string, category: string, extra: Partial<HubSpotErrorBody> = {}): HubSpotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export function validationError(message: string, extra: Partial<HubSpotErrorBody> = {}): HubSpotError {
  return new HubSpotError(400, errorBody(message, 'VALIDATION_ERROR', extra));
}

/** One entry of a "Property values were not valid" list. */
export interface PropertyIssue {
  isValid: false;
  message: string;
  error: 'PROPERTY_DOESNT_EXIST' | 'READ_ONLY_VALUE' | 'INVALID_FLOAT' | 'INVALID_DATE' | 'INVALID_OPTION' | 'INVALID_STRING_LENGTH';
  name: string;
  localizedErrorMessage: string;
}

export function propertyIssue(name: string, error: PropertyIssue['error'], detail: { value?: string; options?: readonly string[]; maxLength?: number } = {}): PropertyIssue {
  const message =
    // "reports was not one of the allowed options: [PRODUCT_ISSUE, ...]" [X2]
    error === 'INVALID_OPTION'
      ? `${detail.value ?? ''} was not one of the allowed options: [${(detail.options ?? []).join(', ')}]`
      : // Code and wording UNCONFIRMED (see STRING_MAX_LENGTH).
        error === 'INVALID_STRING_LENGTH'
        ? `Property "${name}" value is ${detail.value?.length ?? 0} characters; the maximum is ${detail.maxLength ?? 0}`
        : error === 'PROPERTY_DOESNT_EXIST'
      ? `Property "${name}" does not exist`
      : error === 'READ_ONLY_VALUE'
        ? `"${name}" is a read only property; its value cannot be set.`
        : error === 'INVALID_FLOAT'
          ? `Property "${name}" must be a number`
          : `Property "${name}" must be a valid date`;
  return { isValid: false, message, error, name, localizedErrorMessage: message };
}

/** The 400 HubSpot answers for unknown or read-only properties: the issue list JSON-encoded into `message`. */
export function propertyValidationError(issues: PropertyIssue[]): HubSpotError {
  return validationError(`Property values were not valid: ${JSON.stringify(issues)}`);
}

/**
 * A create without a property the object requires (`hs_timestamp` on activities): 400
 * `{"status":"error","message":"Error creating TASK. Some required properties were not set.",
 * "context":{"properties":["hs_timestamp"]},"category":"VALIDATION_ERROR"}` (vendor-facts H58).
 */
export function requiredPropertiesMissing(singular: string, names: readonly string[]): HubSpotError {
  return validationError(`Error creating ${singular.toUpperCase()}. Some required properties were not set.`, { context: { properties: [...names] } });
}

export function notFound(id: string): HubSpotError {
  return new HubSpotError(404, errorBody('Object not found.  objectId are usually numeric.', 'OBJECT_NOT_FOUND', { context: { id: [id] } }));
}

export function conflict(existingId: string, singular: string): HubSpotError {
  const label = singular.charAt(0).toUpperCase() + singular.slice(1);
  return new HubSpotError(409, errorBody(`${label} already exists. Existing ID: ${existingId}`, 'CONFLICT'));
}

/**
 * One entry of a 207's `errors`: HubSpot's StandardError, whose required fields are `status`,
 * `category`, `message`, `context`, `errors` and `links` (the SDK's models, generated from
 * HubSpot's OpenAPI descriptions [H36]); `subCategory` when HubSpot names one.
 */
export interface StandardError {
  status: 'error';
  category: string;
  subCategory?: string;
  message: string;
  context: Record<string, string[]>;
  errors: unknown[];
  links: Record<string, string>;
  [extra: string]: unknown;
}

export function standardError(category: string, message: string, context: Record<string, string[]>, extra: { subCategory?: string; errors?: unknown[] } = {}): StandardError {
  return { status: 'error', category, ...(extra.subCategory ? { subCategory: extra.subCategory } : {}), message, context, errors: extra.errors ?? [], links: {} };
}
