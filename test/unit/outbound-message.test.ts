import { describe, expect, it } from 'vitest';
import { buildOutboundEnvelope, isOutboundAck } from '../../src/sandbox/salesforce/outbound-envelope';
import { WebhookError } from '../../src/webhooks/errors';
import { OUTBOUND_ACK, parseSoapDocument, readOutboundMessage, sameSalesforceId } from '../../src/webhooks/outbound-message';
import { parseSalesforce } from '../../src/webhooks/parse-salesforce';

const ORG = '00D5g0000000001EAA';
const read = (xml: string) => readOutboundMessage(parseSoapDocument(Buffer.from(xml, 'utf8')));

function refusal(action: () => unknown): { status: number; code: string } {
  try {
    action();
  } catch (error) {
    if (error instanceof WebhookError) return { status: error.statusCode, code: error.code };
    throw error;
  }
  throw new Error('expected a refusal');
}

/** Salesforce's own namespaces with other prefixes, CDATA, a comment and an escaped value: the same message. */
const UNUSUAL = `<?xml version="1.0" encoding="UTF-8"?>
<!-- sent by Salesforce -->
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <env:Body>
    <o:notifications xmlns:o="http://soap.sforce.com/2005/09/outbound">
      <o:OrganizationId>${ORG}</o:OrganizationId>
      <o:ActionId>04k5g0000000001AAA</o:ActionId>
      <o:SessionId i:nil="true"/>
      <o:EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/62.0/00D5g0000000001</o:EnterpriseUrl>
      <o:PartnerUrl>https://x.my.salesforce.com/services/Soap/u/62.0/00D5g0000000001</o:PartnerUrl>
      <o:Notification>
        <o:Id><![CDATA[04l5g0000000001AAA]]></o:Id>
        <o:sObject i:type="s:Opportunity" xmlns:s="urn:sobject.enterprise.soap.sforce.com">
          <s:Id>0065g0000000001AAA</s:Id>
          <s:Name>Smith &amp; Sons</s:Name>
          <s:LastModifiedDate>2026-03-04T05:06:07.000+0000</s:LastModifiedDate>
        </o:sObject>
      </o:Notification>
    </o:notifications>
  </env:Body>
</env:Envelope>`;

describe('reading an Outbound Message', () => {
  it('reads the sandbox envelope back: org, action, each notification id, sObject type, sf:Id and escaped fields', () => {
    const xml = buildOutboundEnvelope({
      organizationId: ORG,
      actionId: '04k5g0000000001AAA',
      enterpriseUrl: 'https://x/services/Soap/c/62.0/00D5g0000000001',
      partnerUrl: 'https://x/services/Soap/u/62.0/00D5g0000000001',
      notifications: [
        { id: '04l5g0000000001AAA', sObjectType: 'Contact', fields: { Id: '0035g0000000001AAA', LastName: 'O\'Brien <"&">' } },
        { id: '04l5g0000000002AAA', sObjectType: 'Contact', fields: { Id: '0035g0000000002AAA' } },
      ],
    });
    expect(read(xml)).toEqual({
      organizationId: ORG,
      actionId: '04k5g0000000001AAA',
      notifications: [
        { id: '04l5g0000000001AAA', sObjectType: 'Contact', recordId: '0035g0000000001AAA', fields: { LastName: 'O\'Brien <"&">' } },
        { id: '04l5g0000000002AAA', sObjectType: 'Contact', recordId: '0035g0000000002AAA', fields: {} },
      ],
    });
  });

  it('does not depend on prefixes, comments or CDATA, and maps the notification to a notice', () => {
    const document = parseSoapDocument(Buffer.from(UNUSUAL, 'utf8'));
    expect(readOutboundMessage(document).notifications).toEqual([
      { id: '04l5g0000000001AAA', sObjectType: 'Opportunity', recordId: '0065g0000000001AAA', fields: { Name: 'Smith & Sons', LastModifiedDate: '2026-03-04T05:06:07.000+0000' } },
    ]);
    expect(parseSalesforce(document, { headers: {} })).toEqual({
      events: [{ objectType: 'deal', externalId: '0065g0000000001AAA', eventId: '04l5g0000000001AAA', modifiedAt: '2026-03-04T05:06:07.000Z' }],
      unsupported: [],
    });
  });

  it('refuses what is not a well-formed notifications envelope of at most 100 notifications', () => {
    expect(refusal(() => parseSoapDocument(Buffer.from('<a><b></a>')))).toEqual({ status: 400, code: 'malformed_xml' });
    expect(refusal(() => parseSoapDocument(Buffer.from('   ')))).toEqual({ status: 400, code: 'malformed_xml' });
    expect(refusal(() => parseSoapDocument(Buffer.from('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')))).toEqual({ status: 400, code: 'malformed_xml' });
    expect(refusal(() => read('<Envelope><Body><other/></Body></Envelope>'))).toEqual({ status: 400, code: 'invalid_payload' });
    expect(refusal(() => read(UNUSUAL.replace(/<o:OrganizationId>[^<]*<\/o:OrganizationId>/, '')))).toEqual({ status: 400, code: 'invalid_payload' });
    const notification = '<Notification><Id>04l5g0000000001AAA</Id><sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><sf:Id>0035g0000000001AAA</sf:Id></sObject></Notification>';
    const envelope = (count: number): string =>
      `<Envelope><Body><notifications><OrganizationId>${ORG}</OrganizationId>${notification.repeat(count)}</notifications></Body></Envelope>`;
    expect(read(envelope(100)).notifications).toHaveLength(100);
    expect(refusal(() => read(envelope(101)))).toEqual({ status: 400, code: 'invalid_payload' });
  });

  it('names sObject types the sync does not handle as unsupported, without failing the others', () => {
    const xml = buildOutboundEnvelope({
      organizationId: ORG,
      actionId: '04k',
      enterpriseUrl: '',
      partnerUrl: '',
      notifications: [
        { id: '04l1', sObjectType: 'Lead', fields: { Id: '00Q5g0000000001AAA' } },
        { id: '04l2', sObjectType: 'Task', fields: { Id: '00T5g0000000001AAA' } },
        { id: '04l3', sObjectType: 'Account', fields: { Id: '0015g0000000001AAA', LastModifiedDate: 'not a date' } },
      ],
    });
    expect(parseSalesforce(parseSoapDocument(Buffer.from(xml)), { headers: {} })).toEqual({
      events: [
        { objectType: 'activity', externalId: '00T5g0000000001AAA', eventId: '04l2' },
        { objectType: 'company', externalId: '0015g0000000001AAA', eventId: '04l3' },
      ],
      unsupported: ['Lead'],
    });
  });
});

describe('org ids and the acknowledgement', () => {
  it('compares 15- and 18-character ids by their case-sensitive 15-character root', () => {
    expect(sameSalesforceId(ORG, ORG)).toBe(true);
    expect(sameSalesforceId(ORG, ORG.slice(0, 15))).toBe(true);
    expect(sameSalesforceId(ORG.slice(0, 15), ORG)).toBe(true);
    expect(sameSalesforceId(ORG, `${ORG.slice(0, 15)}XAA`)).toBe(false);
    expect(sameSalesforceId(ORG, ORG.toLowerCase())).toBe(false);
    expect(sameSalesforceId(ORG, ORG.slice(0, 14))).toBe(false);
  });

  it("the shim's Ack is what the sandbox (as Salesforce) counts as delivered; other answers are not", () => {
    expect(isOutboundAck({ status: 200, body: OUTBOUND_ACK })).toBe(true);
    expect(isOutboundAck({ status: 202, body: OUTBOUND_ACK })).toBe(false);
    expect(isOutboundAck({ status: 200, body: OUTBOUND_ACK.replace('>true<', '>false<') })).toBe(false);
    expect(isOutboundAck({ status: 200, body: '{"accepted":1}' })).toBe(false);
    expect(isOutboundAck({ status: 200, body: '' })).toBe(false);
  });
});
