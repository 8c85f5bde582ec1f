import { crmProviderSchema, type CrmProvider } from '../model/identifiers';
import type { NewConnection } from '../store/connections-repository';
import type { ConsumedConsent, OAuthConsentsRepository } from '../store/oauth-consents-repository';
import { ConsentRefusedError, type ConsentFlow, type ConsentRefusal } from './consent-flow';
import { ConsentStateError, type ConsentStateSigner } from './consent-state';

/**
 * `GET /oauth/:provider/callback`, vendor-neutral: the signed state (before PostgreSQL is asked),
 * then its consent row, consumed once; then the vendor's exchange; then the connection, stored
 * sealed, and its workflow started. Every refusal stores nothing and names what to do next.
 */
export interface ConsentCallbackDependencies {
  signer: ConsentStateSigner;
  consents: Pick<OAuthConsentsRepository, 'consume' | 'recordOutcome'>;
  connections: { addConnection(connection: NewConnection): Promise<void> };
  /** The configured flow of a provider, or undefined when the operator set up no app for it. */
  flow: (provider: CrmProvider) => ConsentFlow | undefined;
  redirectUri: (provider: CrmProvider) => string;
  /**
   * Registers the new connection's webhooks at the vendor (src/lifecycle/webhook-registration.ts)
   * and answers one sentence for the page. A failure leaves the connection stored: polling carries
   * its changes until `crm-sync connection subscribe` succeeds.
   */
  subscribeWebhooks?: (connection: { tenantId: string; connectionId: string }) => Promise<string>;
  /** Starts the connection's workflow unless it runs (what the shim does for a webhook). */
  startWorkflow: (connection: { tenantId: string; connectionId: string }) => Promise<void>;
  now: () => number;
  /** One line per callback, without tokens, codes or state. */
  log?: (event: { provider: string; connectionId?: string; outcome: string }) => void;
}

export interface ConsentOutcome {
  status: number;
  /** Short, for the page title: "Connected" or "Not connected". */
  title: string;
  message: string;
}

const refusalStatus: Record<ConsentRefusal, number> = { denied: 403, invalid_grant: 400, wrong_region: 400, vendor: 502, unavailable: 503 };

export async function handleConsentCallback(providerParam: string, query: URLSearchParams, deps: ConsentCallbackDependencies): Promise<ConsentOutcome> {
  const refuse = (status: number, message: string, connectionId?: string): ConsentOutcome => {
    deps.log?.({ provider: providerParam, ...(connectionId ? { connectionId } : {}), outcome: `refused ${status}: ${message}` });
    return { status, title: 'Not connected', message };
  };
  const provider = crmProviderSchema.safeParse(providerParam);
  const flow = provider.success ? deps.flow(provider.data) : undefined;
  if (!provider.success || !flow) return refuse(404, `No OAuth app is configured for "${providerParam}".`);

  const state = query.get('state');
  if (!state) return refuse(400, 'The callback carries no state parameter: start again with `crm-sync connection connect`.');
  let claims;
  try {
    claims = deps.signer.verify(state, deps.now());
  } catch (error) {
    if (error instanceof ConsentStateError) return refuse(400, `${error.message} Nothing was stored; start again with \`crm-sync connection connect\`.`);
    throw error;
  }
  if (claims.provider !== provider.data) return refuse(400, `This consent was started for ${claims.provider}, not ${provider.data}. Nothing was stored.`);

  const consumed = await deps.consents.consume(claims.id, new Date(deps.now()));
  if (consumed.status !== 'consumed') {
    const why = { unknown: 'This consent is unknown to crm-sync', used: 'This consent link was already used', expired: 'This consent link expired (links are valid for 10 minutes)' }[consumed.status];
    return refuse(400, `${why}. Nothing was stored; start again with \`crm-sync connection connect\`.`, claims.connectionId);
  }
  const consent: ConsumedConsent = consumed.consent;
  if (consent.tenantId !== claims.tenantId || consent.connectionId !== claims.connectionId || consent.provider !== claims.provider) {
    return refuse(400, 'The state does not match the consent it names. Nothing was stored.', claims.connectionId);
  }

  const finish = async (outcome: ConsentOutcome, recorded: string): Promise<ConsentOutcome> => {
    await deps.consents.recordOutcome(consent.id, recorded);
    deps.log?.({ provider: provider.data, connectionId: consent.connectionId, outcome: recorded });
    return outcome;
  };
  let grant;
  try {
    grant = await flow.complete(query, consent, deps.redirectUri(provider.data));
  } catch (error) {
    if (!(error instanceof ConsentRefusedError)) throw error;
    const lead = {
      denied: 'Access was not granted',
      invalid_grant: 'The vendor refused the authorization code (already used, expired, or issued for another request)',
      wrong_region: 'The account is in another data centre',
      vendor: 'The vendor refused the connection',
      unavailable: 'The vendor could not be reached',
    }[error.refusal];
    const message = `${lead}: ${error.message}. Connection ${consent.connectionId} was not created; run \`crm-sync connection connect\` again.`;
    return finish({ status: refusalStatus[error.refusal], title: 'Not connected', message }, `refused (${error.refusal})`);
  }

  try {
    await deps.connections.addConnection({ id: consent.connectionId, tenantId: consent.tenantId, provider: provider.data, settings: grant.settings, credentials: grant.credentials });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '23505') return finish({ status: 409, title: 'Not connected', message: `A connection "${consent.connectionId}" already exists; nothing was changed.` }, 'refused (exists)');
    if (code === '23503') return finish({ status: 404, title: 'Not connected', message: `Tenant "${consent.tenantId}" no longer exists; nothing was stored.` }, 'refused (no tenant)');
    throw error;
  }
  const target = { tenantId: consent.tenantId, connectionId: consent.connectionId };
  // Before the workflow starts, so its first run already knows what lapses (Zoho's channel expiry).
  let webhooks = '';
  if (deps.subscribeWebhooks) {
    try {
      webhooks = ` ${await deps.subscribeWebhooks(target)}`;
    } catch (error) {
      webhooks = ` Its webhooks could not be registered (${(error as Error).message}); polling carries changes until \`crm-sync connection subscribe ${consent.connectionId}\` succeeds.`;
    }
  }
  try {
    await deps.startWorkflow(target);
  } catch {
    return finish(
      { status: 200, title: 'Connected', message: `Connection ${consent.connectionId} (${provider.data}) was added to tenant ${consent.tenantId}; its sync starts once the sync engine is reachable.${webhooks}` },
      'connected (workflow pending)',
    );
  }
  return finish({ status: 200, title: 'Connected', message: `Connection ${consent.connectionId} (${provider.data}) was added to tenant ${consent.tenantId} and is syncing.${webhooks} You can close this page.` }, 'connected');
}
