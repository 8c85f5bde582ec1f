import type { CrmProvider } from '../model/identifiers';
import type { ConsumedConsent } from '../store/oauth-consents-repository';

/**
 * One vendor's consent: the URL a person opens, and what its callback turns into (the connection's
 * settings and credentials, in the shapes src/connectors/stored-connections.ts validates, so the
 * connector's own token refresh takes over from there). Everything else (state, single use,
 * storing, starting the workflow, the page) is the vendor-neutral callback's (consent-callback.ts).
 */
export interface ConsentFlow {
  provider: CrmProvider;
  /** Whether the authorization request carries a PKCE challenge (S256). */
  pkce: boolean;
  /** Checks connect-time options (region, settings) before anything is stored; throws ConsentInputError. */
  prepare(input: ConsentInput): ConsentInput;
  authorizationUrl(request: AuthorizationRequest): URL;
  /** Exchanges what the callback carried; throws ConsentRefusedError for every refusal a person can act on. */
  complete(callback: URLSearchParams, consent: ConsumedConsent, redirectUri: string): Promise<ConsentGrant>;
}

export interface ConsentInput {
  region?: string | undefined;
  settings: Record<string, unknown>;
}

export interface AuthorizationRequest extends ConsentInput {
  state: string;
  redirectUri: string;
  /** S256 challenge, when the flow uses PKCE. */
  codeChallenge?: string | undefined;
}

export interface ConsentGrant {
  settings: Record<string, unknown>;
  credentials: Record<string, unknown>;
}

/** A connect-time option the vendor cannot take (exit 2 in the CLI). */
export class ConsentInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentInputError';
  }
}

/**
 * Why a callback did not connect, as the person who consented can act on it: `denied` (they or
 * the vendor declined), `invalid_grant` (code used, expired, or not for this verifier),
 * `wrong_region` (Zoho account in another data centre), `vendor` (any other refusal),
 * `unavailable` (the vendor did not answer).
 */
export type ConsentRefusal = 'denied' | 'invalid_grant' | 'wrong_region' | 'vendor' | 'unavailable';

export class ConsentRefusedError extends Error {
  constructor(
    readonly refusal: ConsentRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'ConsentRefusedError';
  }
}

/** `prepare` of every vendor but Zoho: a region has no meaning there, and `why` says where the account is found instead. */
export function withoutRegion(input: ConsentInput, why: string): ConsentInput {
  if (input.region !== undefined) throw new ConsentInputError(`--region is for Zoho only: ${why}`);
  return input;
}

/** An absolute URL the vendor's token answer must carry (Salesforce `instance_url`, Pipedrive's and Zoho's `api_domain`). */
export function requiredUrl(extra: Record<string, unknown>, field: string, vendor: string): string {
  const value = extra[field];
  if (typeof value !== 'string' || !/^https?:\/\//.test(value)) throw new ConsentRefusedError('vendor', `${vendor} answered without an ${field}`);
  return value;
}

/** The refresh token the connector will renew with; `hint` says what the app registration lacks when there is none. */
export function requiredRefreshToken(refreshToken: string | undefined, vendor: string, hint = ''): string {
  if (!refreshToken) throw new ConsentRefusedError('vendor', `${vendor} issued no refresh token${hint}`);
  return refreshToken;
}
