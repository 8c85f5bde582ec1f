import { describeSubscribeOutcome, type WebhookRegistration } from '../lifecycle/webhook-registration';
import type { CrmProvider } from '../model/identifiers';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { CredentialCipher } from '../store/credential-cipher';
import type { Queryable } from '../store/database';
import type { EncryptionKeyring } from '../store/keyring';
import { OAuthConsentsRepository } from '../store/oauth-consents-repository';
import type { ConsentCallbackDependencies } from './consent-callback';
import { ConsentStateSigner } from './consent-state';
import { consentFlowFor } from './flows';
import { redirectUriFor, type OAuthApps } from './oauth-apps';

/** The callback's dependencies from what the shim holds: the apps, the keyring, PostgreSQL, and how it starts a workflow. */
export function consentCallbackDependencies(input: {
  apps: OAuthApps;
  keyring: EncryptionKeyring;
  db: Queryable;
  cipher: CredentialCipher;
  connections: Pick<ConnectionsRepository, 'addConnection'>;
  startWorkflow: ConsentCallbackDependencies['startWorkflow'];
  /** Registers webhooks for a new connection (absent: none are registered). */
  webhooks?: Pick<WebhookRegistration, 'subscribe'> | undefined;
  now?: () => number;
}): ConsentCallbackDependencies {
  const webhooks = input.webhooks;
  return {
    signer: new ConsentStateSigner(input.keyring),
    consents: new OAuthConsentsRepository(input.db, input.cipher),
    connections: input.connections,
    flow: (provider: CrmProvider) => consentFlowFor(input.apps, provider),
    redirectUri: (provider: CrmProvider) => redirectUriFor(input.apps, provider) ?? `/oauth/${provider}/callback`,
    startWorkflow: input.startWorkflow,
    ...(webhooks ? { subscribeWebhooks: async ({ connectionId }: { connectionId: string }) => describeSubscribeOutcome(await webhooks.subscribe(connectionId)) } : {}),
    now: input.now ?? Date.now,
  };
}
