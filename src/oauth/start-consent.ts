import * as oauth from 'oauth4webapi';
import type { CrmProvider } from '../model/identifiers';
import type { OAuthConsentsRepository } from '../store/oauth-consents-repository';
import { ConsentInputError } from './consent-flow';
import { CONSENT_LIFETIME_MS, ConsentStateSigner } from './consent-state';
import { consentFlowFor } from './flows';
import { redirectUriFor, type OAuthApps } from './oauth-apps';

const KEEP_EXPIRED_MS = 24 * 60 * 60_000;

export interface StartConsentInput {
  tenantId: string;
  connectionId: string;
  provider: CrmProvider;
  region?: string | undefined;
  settings: Record<string, unknown>;
}

export interface StartedConsent {
  url: URL;
  redirectUri: string;
  expiresAt: Date;
}

/**
 * What `crm-sync connection connect` does: checks the options against the vendor, records the
 * consent (PKCE verifier sealed) and answers the URL to open. Nothing is sent to the vendor.
 */
export async function startConsent(
  deps: { apps: OAuthApps; signer: ConsentStateSigner; consents: Pick<OAuthConsentsRepository, 'create' | 'deleteExpired'>; now?: () => number },
  input: StartConsentInput,
): Promise<StartedConsent> {
  const flow = consentFlowFor(deps.apps, input.provider);
  const prefix = `CRM_SYNC_OAUTH_${input.provider.toUpperCase()}`;
  if (!flow) throw new ConsentSetupError(`no OAuth app is configured for ${input.provider}: set ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET (see the README, "Connect your CRM")`);
  const redirectUri = redirectUriFor(deps.apps, input.provider);
  if (!redirectUri) throw new ConsentSetupError('SHIM_PUBLIC_URL is not set: the vendor must redirect to the shim at <SHIM_PUBLIC_URL>/oauth/<provider>/callback');
  const prepared = flow.prepare({ region: input.region, settings: input.settings });
  const now = (deps.now ?? Date.now)();
  const expiresAt = now + CONSENT_LIFETIME_MS;
  // Consents a day past their expiry have told operators what they needed (their outcome): forget them.
  await deps.consents.deleteExpired(new Date(now - KEEP_EXPIRED_MS));
  const id = ConsentStateSigner.newId();
  const codeVerifier = flow.pkce ? oauth.generateRandomCodeVerifier() : undefined;
  await deps.consents.create({
    id,
    tenantId: input.tenantId,
    connectionId: input.connectionId,
    provider: input.provider,
    region: prepared.region,
    settings: prepared.settings,
    codeVerifier,
    createdAt: new Date(now),
    expiresAt: new Date(expiresAt),
  });
  const state = deps.signer.sign({ id, tenantId: input.tenantId, connectionId: input.connectionId, provider: input.provider, expiresAt });
  const url = flow.authorizationUrl({
    ...prepared,
    state,
    redirectUri,
    codeChallenge: codeVerifier === undefined ? undefined : await oauth.calculatePKCECodeChallenge(codeVerifier),
  });
  return { url, redirectUri, expiresAt: new Date(expiresAt) };
}

/** The operator has not configured what a consent needs (exit 78 in the CLI). */
export class ConsentSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsentSetupError';
  }
}

export { ConsentInputError };
