import type { IncomingHttpHeaders } from 'node:http';

/** What a provider's verifier sees of one delivery. */
export interface DeliveryToVerify {
  rawBody: Buffer;
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
