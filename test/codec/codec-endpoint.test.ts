import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { buildCodecApp } from '../../src/codec/endpoint';
import { codecEndpointOptions } from '../../src/codec/endpoint-config';
import { payloadFromJson, payloadToJson } from '../../src/codec/json-payloads';
import { loadConfig, type ConfigError } from '../../src/config';
import { buildShimApp } from '../../src/webhooks/app';

const TOKEN = randomBytes(32).toString('base64url');
const UI_ORIGIN = 'http://localhost:8233';
const SECRET_VALUE = `grace.codec.${randomBytes(4).toString('hex')}@navy.example`;

/**
 * The codec endpoint as the shim serves it (`/codec`), over real HTTP: the Temporal codec-server
 * protocol, the operator token, and CORS for the Web UI.
 */
describe('codec endpoint on the shim', () => {
  const codec = new EncryptionCodec(new Map([['k1', randomBytes(32)]]), 'k1');
  let app: FastifyInstance;
  let base: string;
  let sealed: Payload;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/codec${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const decodeBody = () => ({ payloads: [payloadToJson(sealed)] });

  beforeAll(async () => {
    app = buildShimApp({ readiness: {}, codec: { codec, operatorToken: TOKEN, corsOrigins: [UI_ORIGIN, 'http://127.0.0.1:8233'], namespace: 'default' } });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    [sealed] = (await codec.encode([defaultPayloadConverter.toPayload({ email: SECRET_VALUE })])) as [Payload];
  });
  afterAll(async () => {
    await app?.close();
  });

  it('decodes for a request with the operator token: the plaintext payload comes back', async () => {
    const response = await post('/decode', decodeBody(), { authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { payloads: Parameters<typeof payloadFromJson>[0][] };
    expect(body.payloads).toHaveLength(1);
    expect(defaultPayloadConverter.fromPayload(payloadFromJson(body.payloads[0]!))).toEqual({ email: SECRET_VALUE });
  });

  it('refuses a request without a token, or with a wrong one: 401 {code, message}, no plaintext', async () => {
    for (const [headers, code] of [
      [{}, 'token_missing'],
      [{ authorization: `Bearer ${TOKEN}x` }, 'token_invalid'],
      [{ authorization: `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}` }, 'token_missing'],
    ] as const) {
      const response = await post('/decode', decodeBody(), headers);
      const text = await response.text();
      expect(response.status).toBe(401);
      expect(JSON.parse(text)).toEqual({ code, message: expect.any(String) as string });
      expect(text).not.toContain(SECRET_VALUE);
      expect(text).not.toContain(TOKEN);
    }
  });

  it('encodes with the token into a payload the codec opens (the /encode half of the protocol)', async () => {
    const response = await post('/encode', { payloads: [payloadToJson(defaultPayloadConverter.toPayload({ email: SECRET_VALUE }))] }, { authorization: `Bearer ${TOKEN}` });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(Buffer.from(SECRET_VALUE).toString('base64').slice(0, 12));
    const [payload] = (JSON.parse(text) as { payloads: Parameters<typeof payloadFromJson>[0][] }).payloads;
    const [opened] = await codec.decode([payloadFromJson(payload!)]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ email: SECRET_VALUE });
  });

  it('answers the Web UI origin\'s CORS preflight, and grants that origin on the real request', async () => {
    const preflight = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')?.split(/,\s*/).sort()).toEqual(['authorization', 'content-type', 'x-namespace']);

    const response = await post('/decode', decodeBody(), { authorization: `Bearer ${TOKEN}`, origin: UI_ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('refuses another origin: no CORS grant on the preflight, and no plaintext even with the token', async () => {
    const preflight = await fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin: 'https://attacker.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(((await preflight.json()) as { code: string }).code).toBe('origin_not_allowed');

    const response = await post('/decode', decodeBody(), { authorization: `Bearer ${TOKEN}`, origin: 'https://attacker.example' });
    const text = await response.text();
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(text).not.toContain(SECRET_VALUE);
  });

  it('gives bad input a precise answer: malformed JSON, wrong shape, wrong namespace, an unknown key id', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const malformed = await post('/decode', '{"payloads": [', auth);
    expect([malformed.status, ((await malformed.json()) as { code: string }).code]).toEqual([400, 'malformed_json']);

    const shape = await post('/decode', { payloads: [{ data: 'not base64!' }] }, auth);
    expect(shape.status).toBe(400);
    expect(await shape.json()).toEqual({ code: 'invalid_body', message: expect.stringContaining('payloads.0.data must be base64') as string });

    const namespace = await post('/decode', decodeBody(), { ...auth, 'x-namespace': 'someone-else' });
    expect([namespace.status, ((await namespace.json()) as { code: string }).code]).toEqual([403, 'namespace_not_served']);

    const [foreign] = await new EncryptionCodec(new Map([['other', randomBytes(32)]]), 'other').encode([defaultPayloadConverter.toPayload({ email: SECRET_VALUE })]);
    const unknownKey = await post('/decode', { payloads: [payloadToJson(foreign!)] }, auth);
    expect(unknownKey.status).toBe(422);
    expect(await unknownKey.json()).toEqual({ code: 'payload_undecodable', message: expect.stringContaining('key "other", which is not in the keyring') as string });
  });
});

describe('codec endpoint configuration', () => {
  const codec = new EncryptionCodec(new Map([['k1', randomBytes(32)]]), 'k1');

  it('refuses to start without an operator token unless explicitly allowed (development)', async () => {
    await expect(buildCodecApp({ codec, corsOrigins: [] }).ready()).rejects.toThrow(/needs an operator token \(CODEC_OPERATOR_TOKEN\)/);
    expect(codecEndpointOptions(loadConfig({}), codec)).toBeUndefined();

    const dev = codecEndpointOptions(loadConfig({ CODEC_ALLOW_NO_TOKEN: 'true' }), codec);
    expect(dev).toMatchObject({ allowWithoutToken: true, corsOrigins: ['http://localhost:8233', 'http://127.0.0.1:8233'] });
    const app = buildCodecApp(dev!);
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const response = await fetch(`${base}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"payloads":[]}' });
      expect([response.status, await response.json()]).toEqual([200, { payloads: [] }]);
    } finally {
      await app.close();
    }
  });

  it('validates the variables: no unauthenticated endpoint in production, a long enough token, real origins', () => {
    const problems = (env: Record<string, string>): readonly string[] => {
      try {
        loadConfig(env);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ NODE_ENV: 'production', CRM_SYNC_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`, CODEC_ALLOW_NO_TOKEN: 'true' })).toEqual([
      expect.stringMatching(/^CODEC_ALLOW_NO_TOKEN may not be true in production/),
    ]);
    expect(problems({ CODEC_OPERATOR_TOKEN: 'short' })).toEqual([expect.stringMatching(/^CODEC_OPERATOR_TOKEN must be at least 24 characters/)]);
    expect(problems({ CODEC_CORS_ORIGINS: 'https://ui.example.com/path' })).toEqual([expect.stringMatching(/^CODEC_CORS_ORIGINS "https:\/\/ui.example.com\/path" is not an origin/)]);
    expect(loadConfig({ CODEC_CORS_ORIGINS: 'https://ui.example.com/, http://localhost:8080', CODEC_OPERATOR_TOKEN: TOKEN }).CODEC_CORS_ORIGINS).toEqual([
      'https://ui.example.com',
      'http://localhost:8080',
    ]);
  });
});
