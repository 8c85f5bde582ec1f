import { WebhookError } from './errors';
import { OUTBOUND_ACK, parseSoapDocument } from './outbound-message';

/** How a provider's deliveries are encoded and answered. */
export interface DeliveryFormat {
  /** The media type the vendor sends (others are 415). */
  mediaType: string;
  /** Raw bytes to a document; throws a 400 WebhookError. */
  decode: (rawBody: Buffer) => unknown;
  /** The answer the vendor takes as delivered. */
  accepted: (count: number) => { status: number; contentType: string; body: string };
}

export const JSON_DELIVERY: DeliveryFormat = {
  mediaType: 'application/json',
  decode: (rawBody) => {
    try {
      return JSON.parse(rawBody.toString('utf8')) as unknown;
    } catch {
      throw new WebhookError(400, 'malformed_json', 'The request body is not valid JSON.');
    }
  },
  accepted: (count) => ({ status: 202, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ accepted: count }) }),
};

/** Salesforce Outbound Messages: SOAP 1.1 in, `notificationsResponse` with `Ack` true out [S77]. */
export const OUTBOUND_MESSAGE_DELIVERY: DeliveryFormat = {
  mediaType: 'text/xml',
  decode: parseSoapDocument,
  accepted: () => ({ status: 200, contentType: 'text/xml; charset=utf-8', body: OUTBOUND_ACK }),
};

/** `text/xml; charset=utf-8` -> `text/xml`. */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Decodes on first use and remembers the result (or the refusal). */
export function decodedOnce(decode: () => unknown): () => unknown {
  let result: { value: unknown } | { error: unknown } | undefined;
  return () => {
    if (!result) {
      try {
        result = { value: decode() };
      } catch (error) {
        result = { error };
      }
    }
    if ('error' in result) throw result.error;
    return result.value;
  };
}
