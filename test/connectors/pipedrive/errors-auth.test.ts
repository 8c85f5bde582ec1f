import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyPipedriveFailure, createPipedriveConnector, type PipedriveConnector } from '../../../src/connectors/pipedrive';
import { classifyPipedriveTokenFailure } from '../../../src/connectors/pipedrive/errors';
import { startPipedriveSandbox, type PipedriveSandbox, type PipedriveSandboxOptions } from '../../../src/sandbox/pipedrive';
import { connectorFailure } from '../../support/connector-failure';
import { connectorFor } from './support';

describe('Pipedrive connector: error classes and OAuth', () => {
  let pd: PipedriveSandbox | undefined;
  let connector: PipedriveConnector | undefined;
  afterEach(async () => {
    await connector?.close();
    await pd?.stop();
    connector = undefined;
    pd = undefined;
  });
  const start = async (options: PipedriveSandboxOptions = {}): Promise<PipedriveSandbox> => (pd = await startPipedriveSandbox(options));
  /** A connector on the sandbox's OAuth app (its refresh token, or another one). */
  const oauthConnector = (sandbox: PipedriveSandbox, refreshToken = sandbox.credentials.refreshToken) =>
    createPipedriveConnector({
      connectionId: `pd-oauth-${randomUUID()}`,
      apiDomain: sandbox.url,
      auth: { kind: 'oauth', clientId: sandbox.credentials.clientId, clientSecret: sandbox.credentials.clientSecret, refreshToken, tokenUrl: sandbox.credentials.tokenUrl },
      rateLimits: false,
    });
  const since = new Date().toISOString();

  it('classifies the sandbox answers: 401 auth, 500 transient, 429 burst rate-limited with the reset, daily 429 quota-exhausted, hang transient', async () => {
    const sandbox = await start({ limits: { dailyTokens: 1_000 } });
    const wrong = await connectorFor(sandbox, { auth: { kind: 'api-token', apiToken: 'not-the-token' }, syncIdFieldKeys: { contact: sandbox.admin.syncIdFieldKey('persons') } });
    expect(await connectorFailure(wrong.listChanges('contact', { since }))).toMatchObject({ errorClass: 'auth', status: 401, vendorMessage: 'unauthorized access' });
    await wrong.close();

    connector = await connectorFor(sandbox, { requestTimeoutMs: 300, syncIdFieldKeys: { contact: sandbox.admin.syncIdFieldKey('persons') } });
    sandbox.faults.configure({ serverErrorRate: 1 });
    expect(await connectorFailure(connector.listChanges('contact', { since }))).toMatchObject({ errorClass: 'transient', status: 500, retryable: true });
    sandbox.faults.configure({ rateLimitRate: 1 });
    expect(await connectorFailure(connector.listChanges('contact', { since }))).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: 'RATE_LIMIT', retryAfterMs: 2_000 });
    sandbox.faults.configure({ timeoutRate: 1 });
    expect(await connectorFailure(connector.listChanges('contact', { since }))).toMatchObject({ errorClass: 'transient' });
    sandbox.faults.configure({});
    sandbox.admin.spendDailyTokens(995);
    const quota = await connectorFailure(connector.listChanges('contact', { since }));
    expect(quota).toMatchObject({ errorClass: 'quota-exhausted', status: 429, vendorCode: 'DAILY_BUDGET' });
    expect(quota.retryAfterMs).toBeGreaterThan(0);
    expect(quota.retryAfterMs).toBeLessThanOrEqual(86_400_000);
  });

  it('classifies validation (field errors), not-found, permission and conflict bodies', () => {
    const validation = classifyPipedriveFailure(400, JSON.stringify({ success: false, error: "Validation failed: title: Parameter 'title' is required", code: 'ERR_SCHEMA_VALIDATION_FAILED' }));
    expect(validation).toMatchObject({ errorClass: 'validation', vendorCode: 'ERR_SCHEMA_VALIDATION_FAILED', fieldErrors: [{ field: 'title', message: "Parameter 'title' is required" }] });
    expect(classifyPipedriveFailure(404, JSON.stringify({ success: false, error: 'Deal not found' }))).toMatchObject({ errorClass: 'not-found', vendorMessage: 'Deal not found' });
    expect(classifyPipedriveFailure(403, JSON.stringify({ success: false, error: 'You do not have permission' }))).toMatchObject({ errorClass: 'permission' });
    expect(classifyPipedriveFailure(409, JSON.stringify({ success: false, error: 'Conflict' }))).toMatchObject({ errorClass: 'conflict' });
    expect(classifyPipedriveFailure(400, JSON.stringify({ success: false, error: 'invalid_grant', message: 'Invalid grant: refresh token is invalid' }))).toMatchObject({ errorClass: 'auth' });
    expect(classifyPipedriveFailure(502, '<html>bad gateway</html>')).toMatchObject({ errorClass: 'transient' });
  });

  it('classifies token endpoint answers: refusals auth, a 429 rate-limited with its Retry-After, 5xx and a 2xx without a token transient', () => {
    expect(classifyPipedriveTokenFailure(400, JSON.stringify({ success: false, error: 'invalid_grant', message: 'Invalid grant: refresh token is invalid' }))).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_grant' });
    expect(classifyPipedriveTokenFailure(401, JSON.stringify({ success: false, error: 'invalid_client', message: 'Invalid client credentials' }))).toMatchObject({ errorClass: 'auth' });
    expect(classifyPipedriveTokenFailure(429, 'Too Many Requests', { 'retry-after': '7' })).toMatchObject({ errorClass: 'rate-limited', retryAfterMs: 7_000 });
    expect(classifyPipedriveTokenFailure(503, '<html>unavailable</html>')).toMatchObject({ errorClass: 'transient' });
    expect(classifyPipedriveTokenFailure(200, '<html>captive portal</html>')).toMatchObject({ errorClass: 'transient' });
  });

  it('OAuth: 10 concurrent calls after the token expired share exactly one refresh', async () => {
    const sandbox = await start({ limits: false });
    connector = await oauthConnector(sandbox);
    const person = sandbox.admin.createAsUser('persons', { name: 'Ada' });
    expect(await connector.readRecords('contact', [String(person.id)])).toHaveLength(1);
    expect(sandbox.admin.tokenGrants()).toBe(1);
    sandbox.admin.expireTokens();
    const reads = await Promise.all(Array.from({ length: 10 }, () => connector!.readRecords('contact', [String(person.id)])));
    expect(reads.every((records) => records.length === 1)).toBe(true);
    expect(sandbox.admin.tokenGrants()).toBe(2);
    expect(connector.tokenRefreshCount).toBe(2);
  });

  it('OAuth: the token endpoint answering 429 or 5xx during a refresh after a 401 is rate-limited / transient, not auth; the refresh then recovers', async () => {
    const sandbox = await start({ limits: false });
    connector = await oauthConnector(sandbox);
    const person = sandbox.admin.createAsUser('persons', { name: 'Ada' });
    expect(await connector.readRecords('contact', [String(person.id)])).toHaveLength(1);
    sandbox.admin.expireTokens();

    sandbox.faults.configure({ rateLimitRate: 1, tokenEndpointOnly: true });
    const limited = await connectorFailure(connector.readRecords('contact', [String(person.id)]));
    expect(limited).toMatchObject({ errorClass: 'rate-limited', status: 429, vendorCode: 'RATE_LIMIT' });
    expect(limited.retryAfterMs).toBeGreaterThan(0);

    sandbox.faults.configure({ serverErrorRate: 1, tokenEndpointOnly: true });
    expect(await connectorFailure(connector.readRecords('contact', [String(person.id)]))).toMatchObject({ errorClass: 'transient', status: 500 });

    sandbox.faults.configure({});
    expect(await connector.readRecords('contact', [String(person.id)])).toHaveLength(1);
    expect(sandbox.admin.tokenGrants()).toBe(2);
  });

  it('OAuth: a refused refresh token surfaces as auth (needs re-authorisation)', async () => {
    const sandbox = await start({ limits: false });
    connector = await oauthConnector(sandbox, 'revoked');
    expect(await connectorFailure(connector.readRecords('contact', ['1']))).toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_grant' });
  });
});
