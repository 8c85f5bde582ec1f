import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import avro from 'avsc';
import { Connection } from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFieldBitmap, type RecordSchemaJson } from '../../../src/connectors/salesforce/change-events/field-bitmap';
import { createPubSubGrpcClient, type FetchRequest, type FetchResponse, type PubSubGrpcClient, type SchemaInfo, type TopicInfo } from '../../../src/protocols/salesforce-pubsub';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../../src/sandbox/salesforce/index';

/** The org's clock, moved by the retention test. */
let clockOffsetMs = 0;
let sandbox: SalesforceSandbox;
let client: PubSubGrpcClient;
let conn: Connection;

function auth(overrides: Partial<Record<'accesstoken' | 'instanceurl' | 'tenantid', string>> = {}): Metadata {
  const metadata = new Metadata();
  metadata.set('accesstoken', overrides.accesstoken ?? sandbox.credentials.accessToken);
  metadata.set('instanceurl', overrides.instanceurl ?? sandbox.credentials.instanceUrl);
  metadata.set('tenantid', overrides.tenantid ?? sandbox.credentials.organizationId);
  return metadata;
}

/** One Subscribe stream, read response by response. */
function subscribe(metadata = auth()) {
  const stream = client.Subscribe(metadata);
  const responses: FetchResponse[] = [];
  const waiters: (() => void)[] = [];
  let failure: ServiceError | undefined;
  stream.on('data', (response: FetchResponse) => {
    responses.push(response);
    waiters.splice(0).forEach((wake) => wake());
  });
  stream.on('error', (error: ServiceError) => {
    failure = error;
    waiters.splice(0).forEach((wake) => wake());
  });
  return {
    send: (request: FetchRequest) => stream.write(request),
    async next(): Promise<FetchResponse> {
      while (responses.length === 0) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return responses.shift() as FetchResponse;
    },
    /** Events until `count` arrived (empty keepalives skipped). */
    async events(count: number): Promise<FetchResponse['events']> {
      const out: FetchResponse['events'] = [];
      while (out.length < count) out.push(...(await this.next()).events);
      return out;
    },
    async failed(): Promise<ServiceError> {
      while (!failure) await new Promise<void>((resolve) => waiters.push(resolve));
      return failure;
    },
    close: () => stream.cancel(),
  };
}

const schemas = new Map<string, { type: avro.Type; json: RecordSchemaJson }>();
async function decode(event: FetchResponse['events'][number]): Promise<{ header: Record<string, unknown>; fields: Record<string, unknown>; changed: string[] }> {
  let schema = schemas.get(event.event.schema_id);
  if (!schema) {
    const info = await new Promise<SchemaInfo>((resolve, reject) => client.GetSchema({ schema_id: event.event.schema_id }, auth(), (error, answer) => (error ? reject(error) : resolve(answer))));
    const json = JSON.parse(info.schema_json) as RecordSchemaJson;
    schema = { type: avro.Type.forSchema(json as avro.Schema, { wrapUnions: false }), json };
    schemas.set(event.event.schema_id, schema);
  }
  const { ChangeEventHeader: header, ...fields } = schema.type.fromBuffer(event.event.payload) as { ChangeEventHeader: Record<string, unknown> };
  return { header, fields, changed: decodeFieldBitmap(schema.json, header.changedFields as string[]) };
}

async function latestPosition(): Promise<Buffer> {
  const session = subscribe();
  session.send({ topic_name: '/data/ChangeEvents', replay_preset: 'LATEST', num_requested: 1 });
  const first = await session.next();
  session.close();
  return first.latest_replay_id;
}

beforeAll(async () => {
  // Sessions outlive the retention test's jump of three days.
  sandbox = await startSalesforceSandbox({ now: () => Date.now() + clockOffsetMs, tokenLifetimeMs: 30 * 24 * 60 * 60_000, seed: { contacts: 3, companies: 1 } });
  client = createPubSubGrpcClient(sandbox.credentials.pubSubEndpoint, false);
  conn = new Connection({ instanceUrl: sandbox.credentials.instanceUrl, accessToken: sandbox.credentials.accessToken, version: '62.0', callOptions: { client: 'crm-sync' } });
});
afterAll(async () => {
  client.close();
  await sandbox.stop();
});

describe('Salesforce sandbox Pub/Sub API: topics, schemas and auth', () => {
  it('GetTopic describes a change event channel of this org, GetSchema gives its Avro schema with the ChangeEventHeader', async () => {
    const topic = await new Promise<TopicInfo>((resolve, reject) => client.GetTopic({ topic_name: '/data/ContactChangeEvent' }, auth(), (error, answer) => (error ? reject(error) : resolve(answer))));
    expect(topic).toMatchObject({ topic_name: '/data/ContactChangeEvent', tenant_guid: sandbox.credentials.organizationId, can_subscribe: true, can_publish: false });
    const info = await new Promise<SchemaInfo>((resolve, reject) => client.GetSchema({ schema_id: topic.schema_id }, auth(), (error, answer) => (error ? reject(error) : resolve(answer))));
    const schema = JSON.parse(info.schema_json) as { name: string; fields: { name: string; type: { fields?: { name: string }[] } }[] };
    expect(schema.name).toBe('ContactChangeEvent');
    expect(schema.fields[0]?.name).toBe('ChangeEventHeader');
    expect(schema.fields[0]?.type.fields?.map((field) => field.name)).toEqual([
      'entityName', 'recordIds', 'changeType', 'changeOrigin', 'transactionKey', 'sequenceNumber', 'commitTimestamp', 'commitNumber', 'commitUser', 'nulledFields', 'diffFields', 'changedFields',
    ]);
    // A contact's name is a compound field, as in CDC.
    expect(schema.fields.find((field) => field.name === 'Name')).toBeDefined();
    expect(schema.fields.find((field) => field.name === 'FirstName')).toBeUndefined();
  });

  it('refuses a call without a valid access token, with the wrong org or instance, and an unknown topic', async () => {
    const topicWith = (metadata: Metadata, name = '/data/ContactChangeEvent') =>
      new Promise<ServiceError>((resolve) => client.GetTopic({ topic_name: name }, metadata, (error) => resolve(error as ServiceError)));
    for (const metadata of [auth({ accesstoken: 'not-a-token' }), auth({ tenantid: '00D000000000000AAA' }), auth({ instanceurl: 'https://elsewhere.my.salesforce.com' })]) {
      const error = await topicWith(metadata);
      expect(error.code).toBe(status.UNAUTHENTICATED);
      expect(error.metadata.get('error-code')).toEqual(['sfdc.platform.eventbus.grpc.service.auth.error']);
    }
    const unknown = await topicWith(auth(), '/data/NoSuchChangeEvent');
    expect(unknown.code).toBe(status.NOT_FOUND);
    const session = subscribe(auth({ accesstoken: 'expired' }));
    session.send({ topic_name: '/data/ChangeEvents', num_requested: 1 });
    expect((await session.failed()).code).toBe(status.UNAUTHENTICATED);
  });
});

describe('Salesforce sandbox Pub/Sub API: Subscribe', () => {
  it('delivers API writes and UI edits as Avro change events with their origin, user and changed fields', async () => {
    const session = subscribe();
    session.send({ topic_name: '/data/ChangeEvents', replay_preset: 'LATEST', num_requested: 10 });
    // Nothing to deliver yet: an empty response with the latest replay id.
    const keepalive = await session.next();
    expect(keepalive.events).toEqual([]);
    expect(keepalive.latest_replay_id.length).toBeGreaterThan(0);

    const created = (await conn.sobject('Contact').create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@example.com' })) as { id: string };
    sandbox.admin.editAsUser('Contact', created.id, { FirstName: 'Augusta', Title: 'Countess' });
    const [create, edit] = await Promise.all((await session.events(2)).map(decode));
    session.close();

    expect(create?.header).toMatchObject({ entityName: 'Contact', recordIds: [created.id], changeType: 'CREATE' });
    expect(create?.header.commitUser).toMatch(/^005/);
    expect(create?.header.changeOrigin).toMatch(/^com\/salesforce\/api\/rest\/62\.0;client=crm-sync$/);
    expect({ ...(create?.fields.Name as object) }).toEqual({ FirstName: 'Ada', LastName: 'Lovelace' });
    expect(create?.fields.Email).toBe('ada@example.com');

    expect(edit?.header).toMatchObject({ changeType: 'UPDATE', recordIds: [created.id], changeOrigin: '' });
    expect(edit?.header.commitUser).not.toBe(create?.header.commitUser);
    expect(edit?.changed).toEqual(expect.arrayContaining(['Title', 'LastModifiedDate', 'Name.FirstName']));
    expect(edit?.changed).not.toContain('Email');
    expect(edit?.fields).toMatchObject({ Title: 'Countess', Name: { FirstName: 'Augusta', LastName: null }, Email: null });
  });

  it('names several records in one event when one transaction changes them alike', async () => {
    const from = await latestPosition();
    const ids = (sandbox.admin.listRecords('Contact').slice(0, 3) as { Id: string }[]).map((record) => record.Id);
    await conn.sobject('Contact').update(ids.map((Id) => ({ Id, Department: 'Research' })), { allOrNone: true });
    const session = subscribe();
    session.send({ topic_name: '/data/ContactChangeEvent', replay_preset: 'CUSTOM', replay_id: from, num_requested: 5 });
    const [event] = await session.events(1);
    session.close();
    const decoded = await decode(event as FetchResponse['events'][number]);
    expect(decoded.header.changeType).toBe('UPDATE');
    expect([...(decoded.header.recordIds as string[])].sort()).toEqual([...ids].sort());
  });

  it('sends no more events than requested, and the rest when more are requested (flow control)', async () => {
    const from = await latestPosition();
    const account = (await conn.sobject('Account').create({ Name: 'Flow' })) as { id: string };
    for (let i = 0; i < 4; i += 1) await conn.sobject('Account').update({ Id: account.id, Description: `edit ${i}` });
    const session = subscribe();
    session.send({ topic_name: '/data/AccountChangeEvent', replay_preset: 'CUSTOM', replay_id: from, num_requested: 2 });
    const firstTwo = await session.next();
    expect(firstTwo.events).toHaveLength(2);
    expect(firstTwo.pending_num_requested).toBe(0);
    session.send({ num_requested: 10 });
    const rest = await session.events(3);
    session.close();
    expect(rest).toHaveLength(3);
    const types = await Promise.all([...firstTwo.events, ...rest].map(async (event) => (await decode(event)).header.changeType));
    expect(types).toEqual(['CREATE', 'UPDATE', 'UPDATE', 'UPDATE', 'UPDATE']);
    // Replay ids order the stream.
    const positions = [...firstTwo.events, ...rest].map((event) => event.replay_id.toString('hex'));
    expect([...positions].sort()).toEqual(positions);
  });

  it('replays from EARLIEST and after a given replay id; refuses num_requested outside 1..100', async () => {
    const earliest = subscribe();
    earliest.send({ topic_name: '/data/ChangeEvents', replay_preset: 'EARLIEST', num_requested: 100 });
    const all = (await earliest.next()).events;
    earliest.close();
    expect(all.length).toBeGreaterThan(3);
    const resumed = subscribe();
    resumed.send({ topic_name: '/data/ChangeEvents', replay_preset: 'CUSTOM', replay_id: (all[1] as FetchResponse['events'][number]).replay_id, num_requested: 100 });
    const after = (await resumed.next()).events;
    resumed.close();
    expect(after.map((event) => event.event.id)).toEqual(all.slice(2).map((event) => event.event.id).slice(0, after.length));

    const tooMany = subscribe();
    tooMany.send({ topic_name: '/data/ChangeEvents', num_requested: 101 });
    expect((await tooMany.failed()).code).toBe(status.INVALID_ARGUMENT);
  });

  it('reports gap and overflow events on demand', async () => {
    const from = await latestPosition();
    const contact = (sandbox.admin.listRecords('Contact')[0] as { Id: string }).Id;
    sandbox.admin.setChangeEventMode('gap');
    sandbox.admin.editAsUser('Contact', contact, { Title: 'Gap' });
    sandbox.admin.setChangeEventMode('overflow');
    await conn.sobject('Contact').update({ Id: contact, Title: 'Overflow' });
    sandbox.admin.setChangeEventMode('normal');
    const session = subscribe();
    session.send({ topic_name: '/data/ContactChangeEvent', replay_preset: 'CUSTOM', replay_id: from, num_requested: 5 });
    const [gap, overflow] = await Promise.all((await session.events(2)).map(decode));
    session.close();
    expect(gap?.header).toMatchObject({ changeType: 'GAP_UPDATE', recordIds: [contact], changedFields: [] });
    expect(gap?.fields.Title).toBeNull();
    expect(overflow?.header).toMatchObject({ changeType: 'GAP_OVERFLOW', recordIds: [], entityName: 'Contact' });
  });

  it('refuses a replay id older than the 72-hour retention, and one it never gave, with replayid.corrupted', async () => {
    const old = await latestPosition();
    await conn.sobject('Contact').create({ LastName: 'Retained' });
    const still = subscribe();
    still.send({ topic_name: '/data/ChangeEvents', replay_preset: 'CUSTOM', replay_id: old, num_requested: 1 });
    expect((await still.events(1)).length).toBe(1);
    still.close();

    clockOffsetMs += 72 * 60 * 60_000 + 60_000;
    await conn.sobject('Contact').create({ LastName: 'After the window' });
    for (const replayId of [old, Buffer.from('not a replay id')]) {
      const session = subscribe();
      session.send({ topic_name: '/data/ChangeEvents', replay_preset: 'CUSTOM', replay_id: replayId, num_requested: 1 });
      const error = await session.failed();
      expect(error.code).toBe(status.INVALID_ARGUMENT);
      expect(error.metadata.get('error-code')).toEqual(['sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted']);
    }
    // EARLIEST now starts after the purged events: only the new one is left.
    const earliest = subscribe();
    earliest.send({ topic_name: '/data/ChangeEvents', replay_preset: 'EARLIEST', num_requested: 100 });
    const left = (await earliest.next()).events;
    earliest.close();
    expect(left).toHaveLength(1);
    expect((await decode(left[0] as FetchResponse['events'][number])).fields.Name).toMatchObject({ LastName: 'After the window' });
  });
});
