import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** Namespaces of the Outbound Messaging WSDL [S76]. */
export const SOAP_ENVELOPE_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';
export const SOBJECT_NS = 'urn:sobject.enterprise.soap.sforce.com';

/** One Notification: its own id (04l…, kept on every resend [S78]) and the record's fields as sent. */
export interface OutboundNotification {
  id: string;
  sObjectType: string;
  /** Field name -> value, `Id` first; only `Id` when the record is gone [S80]. */
  fields: Record<string, string>;
}

export interface OutboundEnvelope {
  organizationId: string;
  actionId: string;
  enterpriseUrl: string;
  partnerUrl: string;
  notifications: OutboundNotification[];
}

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true, suppressBooleanAttributes: false, format: false });

/** The SOAP `notifications` request Salesforce POSTs [S76][S77]. Values are escaped by the builder. */
export function buildOutboundEnvelope(envelope: OutboundEnvelope): string {
  const document = {
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'soapenv:Envelope': {
      '@_xmlns:soapenv': SOAP_ENVELOPE_NS,
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'soapenv:Body': {
        notifications: {
          '@_xmlns': OUTBOUND_NS,
          OrganizationId: envelope.organizationId,
          ActionId: envelope.actionId,
          // "Send Session ID" is off: the element is sent nil.
          SessionId: { '@_xsi:nil': 'true' },
          EnterpriseUrl: envelope.enterpriseUrl,
          PartnerUrl: envelope.partnerUrl,
          Notification: envelope.notifications.map((notification) => ({
            Id: notification.id,
            sObject: {
              '@_xsi:type': `sf:${notification.sObjectType}`,
              '@_xmlns:sf': SOBJECT_NS,
              ...Object.fromEntries(Object.entries(notification.fields).map(([name, value]) => [`sf:${name}`, value])),
            },
          })),
        },
      },
    },
  };
  return builder.build(document);
}

const ackParser = new XMLParser({ removeNSPrefix: true, parseTagValue: false, processEntities: false });

/**
 * Salesforce counts a message as delivered only when the answer is a `notificationsResponse`
 * whose `Ack` is true [S77]; anything else (another status, a SOAP fault, JSON, false) is a failure
 * and the message stays queued.
 */
export function isOutboundAck(answer: { status: number; body: string }): boolean {
  if (answer.status !== 200) return false;
  try {
    const parsed = ackParser.parse(answer.body) as { Envelope?: { Body?: { notificationsResponse?: { Ack?: unknown } } } };
    const ack = parsed.Envelope?.Body?.notificationsResponse?.Ack;
    return typeof ack === 'string' && ack.trim() === 'true';
  } catch {
    return false;
  }
}
