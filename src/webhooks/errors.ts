/** Machine-readable refusal codes of the webhook routes. */
export type WebhookErrorCode =
  | 'malformed_json'
  | 'malformed_xml'
  | 'invalid_payload'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'signature_missing'
  | 'signature_invalid'
  | 'signature_expired'
  | 'webhook_not_configured'
  | 'organization_mismatch'
  | 'unknown_provider'
  | 'unknown_connection'
  | 'unsupported_event'
  | 'temporal_unavailable'
  | 'internal_error';

/** The JSON body of every refusal. */
export interface WebhookErrorBody {
  code: WebhookErrorCode;
  message: string;
}

/** A refusal with its HTTP status; the message is safe to show the sender (no secrets, no record values). */
export class WebhookError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: WebhookErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'WebhookError';
  }

  toBody(): WebhookErrorBody {
    return { code: this.code, message: this.message };
  }
}

export type UnauthorizedCode = 'signature_missing' | 'signature_invalid' | 'signature_expired' | 'webhook_not_configured' | 'organization_mismatch';

export const unauthorized = (code: UnauthorizedCode, message: string): WebhookError =>
  new WebhookError(401, code, message);

export const invalidPayload = (message: string): WebhookError => new WebhookError(400, 'invalid_payload', message);

export const unsupportedMediaType = (expected?: string): WebhookError =>
  new WebhookError(415, 'unsupported_media_type', expected ? `This route takes ${expected} bodies.` : 'Webhook bodies must be application/json (Salesforce Outbound Messages: text/xml).');

/** Maps Fastify's own body errors (content type, size, empty body) to our codes. */
export function fromFrameworkError(error: { statusCode?: number; code?: string }): WebhookError {
  if (error.statusCode === 413) return new WebhookError(413, 'payload_too_large', 'The request body exceeds the size limit.');
  if (error.statusCode === 415) return unsupportedMediaType();
  if (error.statusCode === 400) return new WebhookError(400, 'malformed_json', 'The request body is empty or not valid JSON.');
  return new WebhookError(500, 'internal_error', 'The webhook could not be processed.');
}
