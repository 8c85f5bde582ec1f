import { createHmac } from 'node:crypto';
import { Connection, OAuth2, SfDate, type Record as SfRecord } from 'jsforce';
import { afterEach, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index';

/**
 * jsforce (the Salesforce ecosystem's own Node client, not written here) as referee, on the paths the
 * connector does not use: its OAuth2 refresh flow, the SOQL builder, `queryMore` and autoFetch with a
 * small batch size, sObject Collections with a bad record, the Composite resource, SOSL search,
 * describe, and its surfacing of Salesforce's error bodies. Where jsforce and the sandbox disagree
 * the sandbox is wrong unless Salesforce's documentation says otherwise (docs/sandbox-fidelity.md).
 */

interface SaveResult {
  id?: string;
  success: boolean;
  errors: { statusCode?: string; errorCode?: string; message: string; fields?: string[] }[];
  created?: boolean;
}

describe('referee: jsforce against the Salesforce sandbox', () => {
  let salesforce: SalesforceSandbox | undefined;
  afterEach(async () => salesforce?.stop());

  async function start(): Promise<{ conn: Connection; sandbox: SalesforceSandbox }> {
    salesforce = await startSalesforceSandbox({ dailyApiRequests: false });
    const { instanceUrl, accessToken, version } = salesforce.credentials;
    return { conn: new Connection({ instanceUrl, accessToken, version }), sandbox: salesforce };
  }

  it("gets a token through jsforce's OAuth2 refresh flow, and refreshes an expired session by itself", async () => {
    const { sandbox } = await start();
    const { instanceUrl, refreshToken, clientId, clientSecret, version } = sandbox.credentials;
    const oauth2 = new OAuth2({ clientId, clientSecret, loginUrl: sandbox.url });
    const token = await oauth2.refreshToken(refreshToken);
    expect(token).toMatchObject({ token_type: 'Bearer', instance_url: instanceUrl });
    expect(token).not.toHaveProperty('expires_in');
    // [S5]: the signature lets the client check the answer came from the org holding its secret.
    expect(token.signature).toBe(createHmac('sha256', clientSecret).update(`${token.id}${token.issued_at}`).digest('base64'));

    const conn = new Connection({ oauth2, instanceUrl, accessToken: token.access_token, refreshToken, version });
    const refreshed: string[] = [];
    conn.on('refresh', (accessToken: string) => refreshed.push(accessToken));
    await conn.sobject('Contact').create({ LastName: 'Before' });
    sandbox.admin.expireTokens();
    // The 401 INVALID_SESSION_ID makes jsforce run the same refresh grant and retry the call.
    const after = await conn.query('SELECT COUNT() FROM Contact');
    expect(after.totalSize).toBe(1);
    expect(refreshed).toHaveLength(1);
    expect(conn.accessToken).toBe(refreshed[0]);
    expect(refreshed[0]).not.toBe(token.access_token);
  });

  it('pages a filtered query by queryMore and by autoFetch with batchSize 200, and runs the SOQL the builder writes', async () => {
    const { conn } = await start();
    const people = Array.from({ length: 450 }, (_, index) => ({ LastName: `Ref${String(index).padStart(3, '0')}`, LeadSource: index % 2 === 0 ? 'Web' : 'Phone Inquiry' }));
    // 450 records: jsforce splits them into collections of 200 [S16].
    const created = (await conn.sobject('Contact').create(people, { allowRecursive: true })) as SaveResult[];
    expect(created.filter((result) => result.success)).toHaveLength(450);

    const soql = "SELECT Id, LastName FROM Contact WHERE LeadSource = 'Web' AND LastName LIKE 'Ref%' ORDER BY LastName";
    const headers = { 'Sforce-Query-Options': 'batchSize=200' };
    const first = await conn.query<SfRecord>(soql, { headers });
    expect(first).toMatchObject({ totalSize: 225, done: false });
    expect(first.records).toHaveLength(200);
    // jsforce hands back the locator as an absolute URL on the instance.
    expect(first.nextRecordsUrl).toMatch(/\/services\/data\/v62\.0\/query\/01g\w+-200$/);
    const second = await conn.queryMore<SfRecord>(first.nextRecordsUrl as string);
    expect(second).toMatchObject({ totalSize: 225, done: true });
    expect(second.records.map((record) => String(record.LastName))).toEqual(['Ref400', 'Ref402', 'Ref404', 'Ref406', 'Ref408', 'Ref410', 'Ref412', 'Ref414', 'Ref416', 'Ref418', 'Ref420', 'Ref422', 'Ref424', 'Ref426', 'Ref428', 'Ref430', 'Ref432', 'Ref434', 'Ref436', 'Ref438', 'Ref440', 'Ref442', 'Ref444', 'Ref446', 'Ref448']);

    let fetches = 0;
    const all = await conn.query<SfRecord>(soql, { headers, autoFetch: true, maxFetch: 1000 }).on('fetch', () => (fetches += 1));
    expect(all.records).toHaveLength(225);
    expect(new Set(all.records.map((record) => String(record.Id))).size).toBe(225);
    expect(fetches).toBe(2);

    // jsforce's SOQL builder: conditions, sort, limit, offset, count.
    const built = await conn.sobject('Contact').find({ LeadSource: 'Phone Inquiry', LastName: { $like: 'Ref1%' } }, ['Id', 'LastName']).sort({ LastName: -1 }).limit(3).offset(1);
    expect(built.map((record) => record.LastName)).toEqual(['Ref197', 'Ref195', 'Ref193']);
    expect(await conn.sobject('Contact').count({ LeadSource: 'Web' })).toBe(225);
    const inList = await conn.sobject('Contact').find({ LastName: { $in: ['Ref001', 'Ref002', 'Nobody'] } }, ['LastName']).sort('LastName');
    expect(inList.map((record) => record.LastName)).toEqual(['Ref001', 'Ref002']);
    // Datetime conditions as jsforce writes them: an unquoted literal from SfDate.
    const since = SfDate.toDateTimeLiteral(new Date(Date.now() - 60 * 60 * 1000));
    expect(await conn.sobject('Contact').count({ CreatedDate: { $gte: since }, $not: { LeadSource: 'Web' } })).toBe(225);
  });

  it('creates, retrieves (one and many), updates, upserts by external id and deletes one record at a time', async () => {
    const { conn, sandbox } = await start();
    const contacts = conn.sobject('Contact');
    const ada = (await contacts.create({ FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example' })) as SaveResult;
    expect(ada).toMatchObject({ success: true, errors: [] });
    const grace = (await contacts.create({ FirstName: 'Grace', LastName: 'Hopper' })) as SaveResult;
    const id = ada.id as string;

    expect(await contacts.retrieve(id, { fields: ['Name', 'Email'] })).toEqual({
      attributes: { type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${id}` },
      Name: 'Ada Lovelace',
      Email: 'ada@analytical.example',
    });
    // Many ids: POST /composite/sobjects/Contact with the field names jsforce took from describe.
    const many = await contacts.retrieve([id, grace.id as string]);
    expect(many.map((record) => String(record?.Name))).toEqual(['Ada Lovelace', 'Grace Hopper']);

    expect(await contacts.update({ Id: id, Title: 'Countess' })).toMatchObject({ id, success: true });
    expect((await contacts.retrieve(id)).Title).toBe('Countess');

    const inserted = (await contacts.upsert({ Sync_Id__c: 'ext-1', LastName: 'Turing' }, 'Sync_Id__c')) as SaveResult;
    expect(inserted).toMatchObject({ success: true, created: true });
    const updated = (await contacts.upsert({ Sync_Id__c: 'ext-1', LastName: 'Turing', Title: 'Mathematician' }, 'Sync_Id__c')) as SaveResult;
    expect(updated).toMatchObject({ id: inserted.id, success: true, created: false });

    expect(await contacts.destroy(id)).toMatchObject({ id, success: true });
    await expect(contacts.retrieve(id)).rejects.toMatchObject({ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' });
    expect(sandbox.admin.getRecord('Contact', id)).toMatchObject({ IsDeleted: true });
  });

  it('writes sObject Collections with allOrNone false: the bad record fails alone with its error, the rest land', async () => {
    const { conn } = await start();
    const contacts = conn.sobject('Contact');
    const created = (await contacts.create([{ LastName: 'Good1' }, { FirstName: 'NoLastName' }, { LastName: 'Good2', Email: 'good2@x.example' }], { allOrNone: false })) as SaveResult[];
    expect(created.map((result) => result.success)).toEqual([true, false, true]);
    expect(created[1]).toMatchObject({ success: false, errors: [{ statusCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]', fields: ['LastName'] }] });
    const [good1, , good2] = created.map((result) => result.id as string) as [string, string, string];

    const missing = '003000000000000AAA';
    const updated = (await contacts.update([{ Id: good1, Title: 'One' }, { Id: missing, Title: 'Ghost' }, { Id: good2, Email: 'not-an-email' }], { allOrNone: false })) as SaveResult[];
    expect(updated.map((result) => result.success)).toEqual([true, false, false]);
    // Which code Salesforce gives an id that never existed is UNCONFIRMED; that it fails alone is the point.
    expect(updated[1]?.errors).toEqual([expect.objectContaining({ statusCode: expect.any(String) as unknown, message: expect.any(String) as unknown })]);
    expect(updated[2]?.errors[0]).toMatchObject({ statusCode: 'INVALID_EMAIL_ADDRESS', fields: ['Email'] });

    const upserted = (await contacts.upsert([{ Sync_Id__c: 'u-1', LastName: 'New' }, { Sync_Id__c: 'u-2', LastName: 'Other' }], 'Sync_Id__c', { allOrNone: false })) as SaveResult[];
    expect(upserted.map((result) => [result.success, result.created])).toEqual([[true, true], [true, true]]);
    const again = (await contacts.upsert([{ Sync_Id__c: 'u-1', LastName: 'Renamed' }, { Sync_Id__c: 'u-3', FirstName: 'NoLastName' }], 'Sync_Id__c', { allOrNone: false })) as SaveResult[];
    expect(again[0]).toMatchObject({ id: upserted[0]?.id, success: true, created: false });
    expect(again[1]).toMatchObject({ success: false, errors: [expect.objectContaining({ statusCode: 'REQUIRED_FIELD_MISSING' })] });

    // allOrNone: the good record is rolled back with the bad one, nothing is written.
    const before = (await conn.query('SELECT COUNT() FROM Contact')).totalSize;
    const atomic = (await contacts.create([{ LastName: 'Atomic' }, { FirstName: 'Bad' }], { allOrNone: true })) as SaveResult[];
    expect(atomic[0]?.errors[0]).toMatchObject({ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK' });
    expect((await conn.query('SELECT COUNT() FROM Contact')).totalSize).toBe(before);

    const destroyed = (await contacts.destroy([good1, good2, missing], { allOrNone: false })) as SaveResult[];
    expect(destroyed.map((result) => result.success)).toEqual([true, true, false]);
    expect((await conn.query<SfRecord>(`SELECT Id FROM Contact WHERE Id IN ('${good1}', '${good2}')`)).totalSize).toBe(0);
  });

  it('runs a Composite request through conn.requestPost: each subrequest answers its own status and body', async () => {
    const { conn } = await start();
    const existing = (await conn.sobject('Contact').create({ LastName: 'Existing' })) as SaveResult;
    const url = `/services/data/v${conn.version}`;
    const answer = await conn.requestPost<{ compositeResponse: { body: unknown; httpStatusCode: number; referenceId: string }[] }>(`${url}/composite`, {
      allOrNone: false,
      compositeRequest: [
        { method: 'POST', url: `${url}/sobjects/Account`, referenceId: 'newAccount', body: { Name: 'Acme' } },
        { method: 'PATCH', url: `${url}/sobjects/Contact/${existing.id}`, referenceId: 'rename', body: { LastName: 'Renamed' } },
        { method: 'GET', url: `${url}/sobjects/Contact/${existing.id}`, referenceId: 'read' },
        { method: 'POST', url: `${url}/sobjects/Contact`, referenceId: 'bad', body: { FirstName: 'NoLastName' } },
      ],
    });
    const byRef = Object.fromEntries(answer.compositeResponse.map((entry) => [entry.referenceId, entry]));
    expect(byRef.newAccount).toMatchObject({ httpStatusCode: 201, body: { success: true, errors: [] } });
    expect(byRef.rename).toMatchObject({ httpStatusCode: 204, body: null });
    expect(byRef.read).toMatchObject({ httpStatusCode: 200, body: { Id: existing.id, LastName: 'Renamed' } });
    expect(byRef.bad).toMatchObject({ httpStatusCode: 400, body: [{ errorCode: 'REQUIRED_FIELD_MISSING', fields: ['LastName'] }] });
    const accountId = (byRef.newAccount?.body as { id: string }).id;
    expect(await conn.sobject('Account').retrieve(accountId)).toMatchObject({ Name: 'Acme' });

    // More than 25 subrequests: the whole call is refused; jsforce surfaces the error body.
    const tooMany = Array.from({ length: 26 }, (_, index) => ({ method: 'GET', url: `${url}/sobjects/Contact/${existing.id}`, referenceId: `r${index}` }));
    await expect(conn.requestPost(`${url}/composite`, { compositeRequest: tooMany })).rejects.toMatchObject({ errorCode: 'INVALID_REQUEST' });
  });

  it('searches with SOSL through conn.search: terms, wildcards, search groups, RETURNING fields and limits', async () => {
    const { conn } = await start();
    await conn.sobject('Contact').create([
      { FirstName: 'Ada', LastName: 'Lovelace', Email: 'ada@analytical.example', Title: 'Countess' },
      { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace@navy.example', Description: 'Wrote about Lovelace' },
      { FirstName: 'Alan', LastName: 'Turing', Email: 'alan@bletchley.example', Phone: '+44 20 7946 0000' },
    ]);
    await conn.sobject('Account').create({ Name: 'Lovelace Analytical Engines' });

    const everywhere = await conn.search('FIND {lovelace} IN ALL FIELDS RETURNING Contact(Id, LastName ORDER BY LastName), Account(Name)');
    expect(everywhere.searchRecords.map((record) => [String(record.attributes?.type), String(record.LastName ?? record.Name)])).toEqual([
      ['Contact', 'Hopper'],
      ['Contact', 'Lovelace'],
      ['Account', 'Lovelace Analytical Engines'],
    ]);
    const contact = everywhere.searchRecords[0] as SfRecord;
    expect(Object.keys(contact)).toEqual(['attributes', 'Id', 'LastName']);
    expect(contact.attributes).toEqual({ type: 'Contact', url: `/services/data/v62.0/sobjects/Contact/${contact.Id as string}` });

    const names = await conn.search('FIND {lovelace} IN NAME FIELDS RETURNING Contact(LastName)');
    expect(names.searchRecords.map((record) => String(record.LastName))).toEqual(['Lovelace']);
    const email = await conn.search('FIND {grace@navy.example} IN EMAIL FIELDS RETURNING Contact(Email)');
    expect(email.searchRecords.map((record) => String(record.Email))).toEqual(['grace@navy.example']);
    const phone = await conn.search('FIND {7946} IN PHONE FIELDS RETURNING Contact(LastName)');
    expect(phone.searchRecords.map((record) => String(record.LastName))).toEqual(['Turing']);
    const wildcard = await conn.search("FIND {Tur* OR Hop?er} RETURNING Contact(LastName WHERE FirstName != 'Nobody' ORDER BY LastName DESC)");
    expect(wildcard.searchRecords.map((record) => String(record.LastName))).toEqual(['Turing', 'Hopper']);
    const both = await conn.search('FIND {"Ada Lovelace"} RETURNING Contact(LastName)');
    expect(both.searchRecords.map((record) => String(record.LastName))).toEqual(['Lovelace']);
    const idsOnly = await conn.search('FIND {Lovelace} LIMIT 1');
    expect(idsOnly.searchRecords).toHaveLength(1);
    expect(Object.keys(idsOnly.searchRecords[0] as SfRecord)).toEqual(['attributes', 'Id']);

    await expect(conn.search('FIND {a} RETURNING Contact(Id)')).rejects.toMatchObject({ errorCode: 'INVALID_SEARCH', message: 'search term must be longer than one character' });
    await expect(conn.search('FIND lovelace RETURNING Contact')).rejects.toMatchObject({ errorCode: 'MALFORMED_SEARCH' });
    await expect(conn.search('FIND {lovelace} RETURNING Contact(Nickname)')).rejects.toMatchObject({ errorCode: 'INVALID_FIELD' });
  });

  it('describes Contact and lists the org sobjects (what the sandbox serves)', async () => {
    const { conn } = await start();
    const contact = await conn.sobject('Contact').describe();
    expect(contact).toMatchObject({ name: 'Contact', keyPrefix: '003' });
    const byName = new Map(contact.fields.map((field) => [field.name, field]));
    expect(byName.get('Id')).toMatchObject({ type: 'id', createable: false, updateable: false });
    expect(byName.get('LastName')).toMatchObject({ type: 'string', createable: true, nillable: false, length: 80 });
    expect(byName.get('Level__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true });
    expect(JSON.stringify(byName.get('Level__c')?.picklistValues)).toContain('"value":"Primary"');
    expect(byName.get('Email')).toMatchObject({ type: 'email', nillable: true });
    expect(byName.get('Name')).toMatchObject({ createable: false, updateable: false });
    expect(byName.get('Sync_Id__c')).toMatchObject({ externalId: true, custom: true });
    const global = await conn.describeGlobal();
    expect(global.sobjects.map((sobject) => [sobject.name, sobject.keyPrefix])).toEqual(expect.arrayContaining([['Contact', '003'], ['Account', '001'], ['Opportunity', '006'], ['Task', '00T']]));
    // Layouts are not emulated: a plain not-found, not an external-id lookup of a field named "describe".
    await expect(conn.sobject('Contact').layouts()).rejects.toMatchObject({ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' });
  });

  it('OpportunityContactRole through jsforce: SObject create/find/update/destroy, the SOQL builder, describeGlobal and getDeleted', async () => {
    const { conn, sandbox } = await start();
    const seeded = sandbox.admin.seed({ deals: 1, contacts: 2 });
    const opportunityId = String(seeded.Opportunity?.[0]);
    const [first, second] = (seeded.Contact ?? []).map(String) as [string, string];
    const roles = conn.sobject('OpportunityContactRole');
    const created = (await roles.create({ OpportunityId: opportunityId, ContactId: first, Role: 'Decision Maker', IsPrimary: true })) as SaveResult;
    expect(created).toMatchObject({ success: true });
    expect(created.id?.slice(0, 3)).toBe('00K');
    await roles.create({ OpportunityId: opportunityId, ContactId: second, IsPrimary: true });
    const found = await roles.find({ OpportunityId: opportunityId }, ['ContactId', 'IsPrimary', 'Role']).sort({ ContactId: 1 });
    expect(found.map((row: SfRecord): unknown[] => [row.ContactId, row.IsPrimary])).toEqual([
      [first, false],
      [second, true],
    ]);
    await expect(roles.update({ Id: String(created.id), OpportunityId: opportunityId })).rejects.toMatchObject({ errorCode: 'INVALID_FIELD_FOR_INSERT_UPDATE' });
    const global = await conn.describeGlobal();
    expect(global.sobjects.find((sobject: { name: string }) => sobject.name === 'OpportunityContactRole')?.keyPrefix).toBe('00K');
    const windowStart = new Date(Date.now() - 60_000);
    await roles.destroy(String(created.id));
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // jsforce sends getDeleted's window in whole seconds
    const deleted = await roles.deleted(windowStart, new Date());
    expect(deleted.deletedRecords.map((record: { id: string }) => record.id)).toEqual([created.id]);
  });

  it("surfaces Salesforce's error bodies as jsforce errors with errorCode and message", async () => {
    const { conn } = await start();
    const malformed = conn.query('SELECT Id FROM Contact WHERE');
    await expect(malformed).rejects.toMatchObject({ name: 'MALFORMED_QUERY', errorCode: 'MALFORMED_QUERY' });
    const badField = await conn.query('SELECT Id, Nickname FROM Contact').then(
      () => undefined,
      (error: unknown) => error as { errorCode: string; message: string },
    );
    expect(badField?.errorCode).toBe('INVALID_FIELD');
    expect(badField?.message).toContain("No such column 'Nickname' on entity 'Contact'");
    await expect(conn.query('SELECT Id FROM Lead')).rejects.toMatchObject({ errorCode: 'INVALID_TYPE' });
    await expect(conn.sobject('Contact').retrieve('003000000000000AAA')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
    await expect(conn.sobject('Contact').create({ LastName: 'X', Nickname: 'y' })).rejects.toMatchObject({ errorCode: 'INVALID_FIELD', message: "No such column 'Nickname' on sobject of type Contact" });
    await expect(conn.sobject('Contact').upsert({ Email: 'a@b.example', LastName: 'X' }, 'Email')).rejects.toMatchObject({ errorCode: 'NOT_FOUND' });
  });
});
