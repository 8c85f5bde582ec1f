import type { IncomingHttpHeaders } from 'node:http';

/** What a provider's verifier sees of one delivery. */
export interface DeliveryToVerify {
  rawBody: Buffer;
  /**
   * The decoded body (JSON or XML, as the provider sends it), decoded on first call; throws a 400
   * WebhookError when it does not decode. For senders whose credential is inside the body; the
   * routes always give it.
   */
  document?: () => unknown;
  headers: IncomingHttpHeaders;
  method: string;
  /** The delivery URL as the sender addressed it (scheme, host, path and query). */
  uri: string;
  /** The `webhook` entry of the connection's credentials. */
  secrets: Readonly<Record<string, string>>;
  /** Epoch ms. */
  now: number;
  /** How far a signed timestamp may be from `now`. */
  toleranceMs: number;
}

/** Throws a WebhookError (401) when the delivery is not authentic or too old. */
export type Verifier = (delivery: DeliveryToVerify) => void;

export const DEFAULT_TOLERANCE_MS = 5 * 60_000;
