import { describe, expect, it } from 'vitest';
import { classifyHttpFailure, classifyTokenFailure, ConnectorError, parseRetryAfter, type ErrorRule } from '../../src/connectors/errors';
import { salesforceSpec } from '../../src/connectors/salesforce/spec';
import { SingleFlightTokenProvider, withFreshToken } from '../../src/connectors/token-provider';
import { ApplicationFailure } from '@temporalio/common';
import { toApplicationFailure } from '../../src/activities/failures';
import { MappingValueError } from '../../src/model/mapping';

describe('classifyHttpFailure', () => {
  const rules: ErrorRule[] = [
    { status: [403], vendorCodes: ['REQUEST_LIMIT_EXCEEDED'], errorClass: 'quota-exhausted' },
    { vendorCodes: ['UNABLE_TO_LOCK_ROW'], errorClass: 'transient' },
  ];

  it('applies the vendor rules first, in order, then falls back by status', () => {
    const classify = (status: number, vendorCode?: string): string => classifyHttpFailure('salesforce', rules, { status, vendorCode, message: 'm' }).errorClass;
    expect(classify(403, 'REQUEST_LIMIT_EXCEEDED')).toBe('quota-exhausted');
    expect(classify(403, 'INSUFFICIENT_ACCESS')).toBe('permission');
    expect(classify(400, 'UNABLE_TO_LOCK_ROW')).toBe('transient');
    expect([401, 404, 409, 412, 429, 400, 500, 503, 418].map((status) => classify(status))).toEqual([
      'auth', 'not-found', 'conflict', 'conflict', 'rate-limited', 'validation', 'transient', 'transient', 'validation',
    ]);
  });

  it('keeps the vendor message, code, retry hint and field errors as plain data', () => {
    const error = classifyHttpFailure('hubspot', [], {
      status: 400,
      vendorCode: 'VALIDATION_ERROR',
      message: 'Property values were not valid',
      fieldErrors: [{ field: 'email', message: 'Email address is invalid' }],
    });
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error.message).toBe('hubspot validation VALIDATION_ERROR: Property values were not valid');
    expect(error.retryable).toBe(false);
    expect(JSON.parse(JSON.stringify(error.toInfo()))).toEqual({
      provider: 'hubspot',
      errorClass: 'validation',
      message: 'Property values were not valid',
      vendorCode: 'VALIDATION_ERROR',
      status: 400,
      fieldErrors: [{ field: 'email', message: 'Email address is invalid' }],
    });
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('SingleFlightTokenProvider', () => {
  it('refreshes once for any number of concurrent callers, and proactively before expiry', async () => {
    let now = 0;
    let issued = 0;
    const tokens = new SingleFlightTokenProvider({
      provider: 'hubspot',
      now: () => now,
      refreshSkewMs: 60_000,
      refresh: async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        issued += 1;
        return { accessToken: `t${issued}`, expiresInMs: 30 * 60_000 };
      },
    });
    expect(await Promise.all(Array.from({ length: 10 }, () => tokens.token()))).toEqual(Array(10).fill('t1'));
    now = 28 * 60_000; // still valid
    expect(await tokens.token()).toBe('t1');
    now = 29 * 60_000 + 1; // inside the skew: refresh before it lapses
    expect(await Promise.all([tokens.token(), tokens.token()])).toEqual(['t2', 't2']);
    expect(tokens.refreshCount).toBe(2);
  });

  it('retries a rejected call once with a fresh token, and only one caller refreshes', async () => {
    let issued = 0;
    const tokens = new SingleFlightTokenProvider({
      provider: 'salesforce',
      initial: { accessToken: 'stale', expiresAt: null },
      refresh: async () => ({ accessToken: `fresh${(issued += 1)}`, expiresInMs: null }),
    });
    const call = async (token: string): Promise<string> => {
      if (token === 'stale') throw new ConnectorError({ provider: 'salesforce', errorClass: 'auth', message: 'Session expired or invalid' });
      return token;
    };
    expect(await Promise.all(Array.from({ length: 5 }, () => withFreshToken(tokens, 'salesforce', call)))).toEqual(Array(5).fill('fresh1'));
    expect(tokens.refreshCount).toBe(1);
  });

  it('surfaces a refused refresh as an auth failure, after exactly one attempt', async () => {
    const tokens = new SingleFlightTokenProvider({
      provider: 'salesforce',
      initial: { accessToken: 'stale', expiresAt: null },
      refresh: async () => {
        throw new Error('invalid_grant: expired access/refresh token');
      },
    });
    const call = async (): Promise<never> => {
      throw new ConnectorError({ provider: 'salesforce', errorClass: 'auth', message: 'Session expired or invalid' });
    };
    await expect(withFreshToken(tokens, 'salesforce', call)).rejects.toMatchObject({
      errorClass: 'auth',
      message: 'salesforce auth: token refresh failed: invalid_grant: expired access/refresh token',
    });
    expect(tokens.refreshCount).toBe(1);
  });

  it('keeps the class of a refresh that failed without a refusal: a throttled or failing token endpoint is not auth', async () => {
    const failing = (error: ConnectorError): SingleFlightTokenProvider =>
      new SingleFlightTokenProvider({ provider: 'zoho', initial: { accessToken: 'stale', expiresAt: null }, refresh: () => Promise.reject(error) });
    const call = async (): Promise<never> => {
      throw new ConnectorError({ provider: 'zoho', errorClass: 'auth', message: 'invalid oauth token' });
    };
    const throttled = classifyTokenFailure('zoho', [], { status: 429, message: 'slow down', retryAfterMs: 5_000 });
    await expect(withFreshToken(failing(throttled), 'zoho', call)).rejects.toBe(throttled);
    const down = classifyTokenFailure('zoho', [], { status: 503, message: 'unavailable' });
    await expect(withFreshToken(failing(down), 'zoho', call)).rejects.toMatchObject({ errorClass: 'transient', status: 503 });
    const refused = classifyTokenFailure('zoho', [], { status: 200, vendorCode: 'invalid_code', message: 'invalid_code' });
    await expect(withFreshToken(failing(refused), 'zoho', call)).rejects.toMatchObject({ errorClass: 'auth', vendorCode: 'invalid_code' });
  });
});

describe('classifyTokenFailure', () => {
  const classify = (status: number, vendorCode?: string, message = 'm', rules: ErrorRule[] = []): string => classifyTokenFailure('salesforce', rules, { status, vendorCode, message }).errorClass;

  it('429 is rate-limited with the vendor hint; 408 and 5xx transient; a refusal (4xx, or an OAuth error code with any status) auth', () => {
    expect(classifyTokenFailure('dynamics', [], { status: 429, message: 'Too Many Requests', retryAfterMs: 60_000 })).toMatchObject({ errorClass: 'rate-limited', retryAfterMs: 60_000, status: 429 });
    expect([408, 500, 502, 503, 504].map((status) => classify(status))).toEqual(Array(5).fill('transient'));
    expect(classify(400, 'invalid_grant')).toBe('auth');
    expect(classify(401, 'invalid_client')).toBe('auth');
    expect(classify(400, 'unauthorized_client')).toBe('auth');
    expect(classify(200, 'invalid_code')).toBe('auth');
    expect(classify(403)).toBe('auth');
  });

  it('OAuth outage codes are transient whatever the status; a 2xx that is neither a token nor a refusal is transient', () => {
    expect(classify(400, 'temporarily_unavailable')).toBe('transient');
    expect(classify(400, 'server_error')).toBe('transient');
    expect(classify(200)).toBe('transient');
  });

  it('applies the vendor rules first, by code and wording', () => {
    const rules: ErrorRule[] = [{ vendorCodes: ['invalid_grant'], message: /already being processed/, errorClass: 'rate-limited' }];
    expect(classify(400, 'invalid_grant', 'token request is already being processed', rules)).toBe('rate-limited');
    expect(classify(400, 'invalid_grant', 'expired access/refresh token', rules)).toBe('auth');
    expect(classifyTokenFailure('salesforce', salesforceSpec.tokenErrorRules, { status: 400, vendorCode: 'unknown_error', message: 'retry your request' }).errorClass).toBe('transient');
    expect(classifyTokenFailure('salesforce', salesforceSpec.tokenErrorRules, { status: 400, vendorCode: 'invalid_grant', message: 'expired access/refresh token' }).errorClass).toBe('auth');
    expect(classifyTokenFailure('salesforce', [], { status: 400, vendorCode: 'invalid_grant', message: 'expired access/refresh token' }).message).toBe(
      'salesforce auth invalid_grant: token request failed: expired access/refresh token',
    );
  });
});

describe('toApplicationFailure', () => {
  it('turns a value the mapping cannot read into a non-retryable validation failure naming the field, from any connector', () => {
    const failure = toApplicationFailure(new MappingValueError('lead_source', 'vendor value is not in the picklist map (known: web) (got "Trade Show")'));
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'validation', nonRetryable: true, details: [{ errorClass: 'validation', fieldErrors: [{ field: 'lead_source' }] }] });
  });

  it('keeps a rate-limited connector error retryable after the vendor hint, and leaves other errors alone', () => {
    const failure = toApplicationFailure(new ConnectorError({ provider: 'hubspot', errorClass: 'rate-limited', message: 'slow down', retryAfterMs: 7000 }));
    expect(failure).toMatchObject({ type: 'rate-limited', nonRetryable: false, nextRetryDelay: 7000 });
    const plain = new Error('boom');
    expect(toApplicationFailure(plain)).toBe(plain);
  });
});
