import type { ObjectType } from '../model/identifiers';
import { invalidPayload } from './errors';
import { isRecord, type DeliveryParser } from './parse';

// Every activity table the connector syncs is an activity; activityid is unique across them [D39].
const OBJECT_TYPES: Record<string, ObjectType> = { contact: 'contact', account: 'company', opportunity: 'deal', task: 'activity', phonecall: 'activity', email: 'activity', appointment: 'activity' };
const MESSAGES: Record<string, boolean> = { Create: false, Update: false, Delete: true };

/** WCF JSON date `/Date(1717000000000)/` (optionally with an offset) to ISO. */
function wcfDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
  return match ? new Date(Number(match[1])).toISOString() : undefined;
}

function modifiedOn(context: Record<string, unknown>): string | undefined {
  const parameters = Array.isArray(context.InputParameters) ? context.InputParameters : [];
  const target = parameters.find((parameter): parameter is { key: string; value: Record<string, unknown> } => isRecord(parameter) && parameter.key === 'Target' && isRecord(parameter.value));
  const attributes = target && Array.isArray(target.value.Attributes) ? target.value.Attributes : [];
  const attribute = attributes.find((entry): entry is { key: string; value: unknown } => isRecord(entry) && entry.key === 'modifiedon');
  return wcfDate(attribute?.value) ?? wcfDate(context.OperationCreatedOn);
}

/** An attribute of an entity (a Target or an image) in a plug-in context. */
function attributeOf(entity: unknown, name: string): unknown {
  const attributes = isRecord(entity) && Array.isArray(entity.Attributes) ? entity.Attributes : [];
  return attributes.find((entry): entry is { key: string; value: unknown } => isRecord(entry) && entry.key === name)?.value;
}

function parameter(list: unknown, key: string): unknown {
  return (Array.isArray(list) ? list : []).find((entry): entry is { key: string; value: unknown } => isRecord(entry) && entry.key === key)?.value;
}

/**
 * A connection record (an opportunity's stakeholder) changed: a notice for the deal it belongs
 * to, which the connection names as `record1id` (in the Target on Create and Update, in the
 * step's pre-image on Delete [D56]). Any other connection is not ours.
 */
function stakeholderChange(body: Record<string, unknown>): ReturnType<DeliveryParser> {
  const entity = body.MessageName === 'Delete' ? parameter(body.PreEntityImages, 'PreImage') : parameter(body.InputParameters, 'Target');
  const record1 = attributeOf(entity, 'record1id');
  if (!isRecord(record1) || record1.LogicalName !== 'opportunity' || typeof record1.Id !== 'string') return { events: [], unsupported: [] };
  const eventId = typeof body.OperationId === 'string' ? body.OperationId : undefined;
  return { events: [{ objectType: 'deal', externalId: record1.Id.toLowerCase(), eventId }], unsupported: [] };
}

/** One `RemoteExecutionContext` per delivery (asynchronous service endpoint step). */
export const parseDynamics: DeliveryParser = (body) => {
  if (!isRecord(body) || typeof body.MessageName !== 'string' || typeof body.PrimaryEntityName !== 'string') {
    throw invalidPayload('Expected a RemoteExecutionContext with MessageName and PrimaryEntityName.');
  }
  if (body.PrimaryEntityName === 'connection' && body.MessageName in MESSAGES) return stakeholderChange(body);
  const objectType = OBJECT_TYPES[body.PrimaryEntityName];
  const deleted = MESSAGES[body.MessageName];
  if (objectType === undefined || deleted === undefined) return { events: [], unsupported: [`${body.PrimaryEntityName}.${body.MessageName}`] };
  if (typeof body.PrimaryEntityId !== 'string' || body.PrimaryEntityId === '') throw invalidPayload('PrimaryEntityId is required.');
  const eventId = typeof body.OperationId === 'string' ? body.OperationId : typeof body.RequestId === 'string' ? body.RequestId : undefined;
  return {
    events: [{ objectType, externalId: body.PrimaryEntityId.toLowerCase(), eventId, modifiedAt: modifiedOn(body), ...(deleted ? { deleted: true } : {}) }],
    unsupported: [],
  };
};
