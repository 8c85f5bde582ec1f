export { startPipedriveSandbox, PIPEDRIVE_WEBHOOK_RETRY_DELAYS_MS, type PipedriveCredentials, type PipedriveSandbox, type PipedriveSandboxOptions } from './server';
export type { PipedriveAdmin } from './admin';
export type { PipedriveLimitOptions, LimitsState } from './limits';
export { TOKEN_COSTS } from './limits';
export type { PipedriveWebhookPayload, WebhookSubscription } from './webhooks';
export type { PipedriveEntity, FieldKind } from './schema';
export { customFieldKey, SYNC_ID_FIELD_NAME } from './store';
