import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { invalidPayload, WebhookError } from './errors';
import { isRecord } from './parse';

/** One Notification of a Salesforce Outbound Message [S76]. */
export interface OutboundNotification {
  /** The notification's own id (04l…): the same on every resend of it [S78]. */
  id: string;
  /** From `xsi:type="sf:Contact"`: the sObject type. */
  sObjectType: string;
  /** `sf:Id` of the sObject. */
  recordId: string;
  /** The other fields the Outbound Message was set up to send, as text (`sf:` prefix removed). */
  fields: Readonly<Record<string, string>>;
}

/** The `notifications` element of a SOAP Outbound Message [S76][S77]. */
export interface OutboundMessage {
  organizationId: string;
  actionId: string;
  notifications: OutboundNotification[];
}

/**
 * fast-xml-parser rather than hand-written matching: SOAP allows any namespace prefix, attribute
 * order, whitespace, comments, CDATA and entity-escaped text, which patterns over the text get
 * wrong. Namespace prefixes are dropped (Salesforce's `soapenv:`/`sf:` are conventions, not
 * fixed), tag values stay strings (ids are not numbers) and `Notification` is always a list.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (tagName) => tagName === 'Notification',
});

export const malformedXml = (message: string): WebhookError => new WebhookError(400, 'malformed_xml', message);

/**
 * The XML document of a delivery, or a 400 `malformed_xml`. A document type declaration is
 * refused: SOAP 1.1 messages must not contain one, and refusing it rules out entity expansion.
 */
export function parseSoapDocument(rawBody: Buffer): unknown {
  const text = rawBody.toString('utf8');
  if (text.trim() === '') throw malformedXml('The request body is empty.');
  if (text.includes('<!DOCTYPE')) throw malformedXml('A SOAP message must not contain a document type declaration.');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw malformedXml(`The request body is not well-formed XML (line ${valid.err.line}: ${valid.err.msg}).`);
  return parser.parse(text) as unknown;
}

/** Text content of an element that may carry attributes (`{ '#text': … }`) or be nil. */
function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isRecord(value) && typeof value['#text'] === 'string') return value['#text'];
  return undefined;
}

/** `sf:Contact` -> `Contact`. */
function localName(qualified: string): string {
  return qualified.slice(qualified.indexOf(':') + 1);
}

function readNotification(value: unknown): OutboundNotification {
  if (!isRecord(value) || !isRecord(value.sObject)) throw invalidPayload('Each Notification needs an Id and an sObject.');
  const id = textOf(value.Id);
  const type = value.sObject['@_type'];
  const recordId = textOf(value.sObject.Id);
  if (!id) throw invalidPayload('Each Notification needs an Id.');
  if (typeof type !== 'string' || type === '') throw invalidPayload('Each sObject needs an xsi:type (e.g. sf:Contact).');
  if (!recordId) throw invalidPayload('Each sObject needs an sf:Id.');
  const fields: Record<string, string> = {};
  for (const [name, field] of Object.entries(value.sObject)) {
    const text = textOf(field);
    if (!name.startsWith('@_') && name !== 'Id' && text !== undefined) fields[name] = text;
  }
  return { id, sObjectType: localName(type), recordId, fields };
}

/** Reads `Envelope/Body/notifications` from a parsed document, or a 400 `invalid_payload`. */
export function readOutboundMessage(document: unknown): OutboundMessage {
  const envelope = isRecord(document) ? document.Envelope : undefined;
  const body = isRecord(envelope) ? envelope.Body : undefined;
  const notifications = isRecord(body) ? body.notifications : undefined;
  if (!isRecord(notifications)) throw invalidPayload('Expected a SOAP Envelope whose Body holds a notifications element.');
  const organizationId = textOf(notifications.OrganizationId);
  if (!organizationId) throw invalidPayload('notifications needs an OrganizationId.');
  const list = Array.isArray(notifications.Notification) ? notifications.Notification : [];
  if (list.length === 0) throw invalidPayload('notifications needs at least one Notification.');
  if (list.length > 100) throw invalidPayload('A message holds at most 100 notifications.');
  return { organizationId, actionId: textOf(notifications.ActionId) ?? '', notifications: list.map(readNotification) };
}

/**
 * Whether two Salesforce ids name the same thing: the 18-character form is the 15-character
 * (case-sensitive) id plus a case checksum, and either may be configured.
 */
export function sameSalesforceId(a: string, b: string): boolean {
  if (a.length === b.length) return a === b;
  return a.length >= 15 && b.length >= 15 && a.slice(0, 15) === b.slice(0, 15);
}

/** The answer Salesforce takes as delivered: `notificationsResponse` with `Ack` true [S77]. */
export const OUTBOUND_ACK =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body>' +
  '</soapenv:Envelope>';
