import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorBaseOptions } from '../../../src/connectors/connector-options';
import { startPipedriveSandbox, type PipedriveSandbox } from '../../../src/sandbox/pipedrive';
import { connectorFor } from './support';

describe('Pipedrive connector: values checked against the field definitions before the write', () => {
  let pd: PipedriveSandbox;
  let levelKey: string;
  let options: string[];
  const levelOverride = (onViolation?: 'skip'): ConnectorBaseOptions['mappingOverride'] => ({
    objects: { contact: { fields: [{ canonical: 'custom.level', native: levelKey, type: 'integer', ...(onViolation ? { onViolation } : {}) }] } },
  });

  beforeAll(async () => {
    pd = await startPipedriveSandbox({ limits: false });
    levelKey = pd.admin.defineField('persons', 'Level', 'enum', ['Gold', 'Silver', 'Bronze']);
    options = pd.admin.fieldOptions('persons', levelKey).map((option) => String(option.id));
  });
  afterAll(async () => pd.stop());

  it('fails exactly the records that cannot fit, naming field, limit and record, and writes the rest', async () => {
    const connector = await connectorFor(pd, { mappingOverride: levelOverride() });
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const outcomes = await connector.upsertRecords('contact', [
      { syncId: ids[0]!, fields: { lastName: 'Fits', email: 'fits@fit.example', custom: { level: Number(options[0]) } } },
      { syncId: ids[1]!, fields: { lastName: 'L'.repeat(256) } },
      { syncId: ids[2]!, fields: { email: 'nameless@fit.example' } },
      { syncId: ids[3]!, fields: { lastName: 'Pick', custom: { level: 999 } } },
      { syncId: ids[4]!, fields: { firstName: 'Only first' } },
    ]);
    // A v2 person needs no name [P9]: the nameless one is created like the others.
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['created', 'failed', 'created', 'failed', 'created']);
    expect(outcomes[1]).toMatchObject({ error: { errorClass: 'validation', message: `last_name: 256 characters, Pipedrive persons.last_name holds 255 (contact ${ids[1]})`, fieldErrors: [{ field: 'lastName' }] } });
    expect(outcomes[3]).toMatchObject({
      error: { errorClass: 'validation', message: `${levelKey}: 999 is not one of the values Pipedrive persons.${levelKey} accepts (${options.join(', ')}) (contact ${ids[3]})`, fieldErrors: [{ field: 'custom.level' }] },
    });
    expect(pd.admin.listRecords('persons').map((person) => person.name).sort()).toEqual(['', 'Fits', 'Only first']);
    // Nothing of the refused records was sent: one field list (for the check and the sync id field alike), then a search and a create per record that fits.
    expect(connector.requestCount).toBe(7);
    await connector.close();
  });

  it('reads the field list once for the sync id field and the check, and again after Pipedrive refused a value it let through', async () => {
    const tierKey = pd.admin.defineField('persons', 'Tier', 'enum', ['A', 'B']);
    const tier = Number(pd.admin.fieldOptions('persons', tierKey)[0]?.id);
    const connector = await connectorFor(pd, { mappingOverride: { objects: { contact: { fields: [{ canonical: 'custom.tier', native: tierKey, type: 'integer' }] } } } });
    const fieldReads = () => pd.counters.snapshot().requests['GET /v1/personFields'] ?? 0;
    const before = fieldReads();
    const write = async (lastName: string) => (await connector.upsertRecords('contact', [{ syncId: randomUUID(), fields: { lastName, custom: { tier } } }]))[0];

    expect(await write('Once')).toMatchObject({ status: 'created' });
    expect(await write('Twice')).toMatchObject({ status: 'created' });
    expect(fieldReads() - before).toBe(1);

    // Someone gives the field new options in Pipedrive: the id the list read before allows is gone.
    pd.admin.defineField('persons', 'Tier', 'enum', ['A', 'B']);
    expect(await write('Refused')).toMatchObject({ status: 'failed', error: { errorClass: 'validation', message: expect.stringMatching(/^Validation failed: /) as unknown } });
    expect(fieldReads() - before).toBe(1);
    // The next write reads the list again and is checked against it, before anything is sent.
    expect(await write('Checked')).toMatchObject({ status: 'failed', error: { errorClass: 'validation', message: expect.stringMatching(new RegExp(`^${tierKey}: ${tier} is not one of the values Pipedrive persons\\.${tierKey} accepts`)) as unknown } });
    expect(fieldReads() - before).toBe(2);
    await connector.close();
  });

  it('checks the bulk path too, and leaves out a field the tenant chose to skip', async () => {
    const connector = await connectorFor(pd, { mappingOverride: levelOverride('skip') });
    const [outcome] = await connector.bulk.upsert('contact', [{ syncId: randomUUID(), fields: { lastName: 'Skip', custom: { level: 999 } } }]);
    expect(outcome).toMatchObject({ status: 'created', adjusted: [expect.stringMatching(new RegExp(`^skipped: ${levelKey}: 999 is not one of the values`))] });
    const [long] = await connector.bulk.upsert('deal', [{ syncId: randomUUID(), fields: { name: 'D'.repeat(256) } }]);
    expect(long).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/^title: 256 characters, Pipedrive deals\.title holds 255/) as unknown } });
    await connector.close();
  });
});
