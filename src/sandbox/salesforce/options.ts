import type { ConsentControls } from '../core/consent';
import type { CommonSandboxOptions, SandboxHandle } from '../core/sandbox-handle';
import type { SalesforceAdmin } from './admin';
import type { OutboundMessageQueue } from './outbound-messages';
import type { PubSubServerOptions } from './pubsub/pubsub-server';
import type { SObjectType } from './schema';

export interface SalesforceSandboxOptions extends CommonSandboxOptions {
  /** Version used in the credentials handed out (clients may use any supported version). Default '62.0'. */
  apiVersion?: string;
  /** Rolling 24 h request allocation; `false` turns enforcement off. Default 100,000 [S33]. */
  dailyApiRequests?: number | false;
  /** Access-token lifetime (the org's session timeout). Default 2 h [S7]. */
  tokenLifetimeMs?: number;
  /**
   * How long a refresh-token grant takes; a second grant with the same refresh token meanwhile is
   * refused ("token request is already being processed"). Default 0 (grants never overlap).
   */
  tokenProcessingMs?: number;
  /**
   * The connected app's "refresh token rotation": every refresh-token grant answers with a new
   * refresh token and invalidates the one it used [S62]. Off by default, as in a new connected app.
   */
  refreshTokenRotation?: boolean;
  /**
   * Outbound Messages (SOAP, to `webhooks.url`) [S76]-[S81]. `webhooks.retryDelaysMs`, when given,
   * replaces Salesforce's retry intervals (the n-th entry before the n-th retry; its length caps them).
   */
  outboundMessages?: {
    /** Objects with an Outbound Message on create and edit. Default Contact, Account, Opportunity, Task. */
    objects?: SObjectType[];
    /**
     * Retry due messages on a timer (default true). Off: only `outboundMessages.flushDue()` /
     * `retryAll()` (or `POST /__sandbox/outbound-messages/flush|retry`) resend, so a test decides
     * when time has passed.
     */
    autoRetry?: boolean;
  };
  /** The org's id (key prefix 00D, 18 characters), e.g. to run two orgs side by side. Default: the first 00D id. */
  organizationId?: string;
  /** Connected app and integration user the token endpoint accepts. */
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  /** Fields to mark as external ids besides `Sync_Id__c`. */
  externalIdFields?: Partial<Record<SObjectType, string[]>>;
  /**
   * The org's Change Data Capture selection at start (the standard ChangeEvents channel's members,
   * Tooling API PlatformEventChannelMember [S96]-[S98]). Default: every object the sandbox can
   * capture (Contact, Account, Opportunity, Task, Event), as an org whose admin selected them in
   * Setup; `[]` is a new org where nothing is selected and only an integration's own selection
   * makes change events flow.
   */
  changeDataCapture?: { selected?: readonly SObjectType[] };
  /** Pub/Sub API (Change Data Capture) behaviour. */
  pubSub?: PubSubServerOptions;
  bulk?: {
    /** Delay before a job starts processing. Default 20 ms. */
    processingDelayMs?: number;
    /** Bulk query result rows per page when the client gives no maxRecords. Default 50,000. */
    queryPageSize?: number;
  };
}

/** What a client needs: jsforce takes instanceUrl, accessToken, refreshToken, oauth2 {clientId, clientSecret, loginUrl}. */
export type SalesforceCredentials = {
  instanceUrl: string;
  loginUrl: string;
  accessToken: string;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  version: string;
  organizationId: string;
  /** The Pub/Sub API's `host:port` (plaintext gRPC; the vendor's is api.pubsub.salesforce.com:7443 over TLS). */
  pubSubEndpoint: string;
};

export interface SalesforceSandbox extends SandboxHandle {
  name: 'salesforce';
  credentials: SalesforceCredentials;
  admin: SalesforceAdmin;
  /** The Outbound Message queue: what waits for an Ack, and the knobs to resend it. */
  outboundMessages: OutboundMessageQueue;
  /** The connected app's callback URLs (what its console registers) and the consent page's decisions. */
  consent: ConsentControls;
}
