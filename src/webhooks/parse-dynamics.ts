import type { ObjectType } from '../model/identifiers';
import { invalidPayload } from './errors';
import { isRecord, type DeliveryParser } from './parse';

const OBJECT_TYPES: Record<string, ObjectType> = { contact: 'contact', account: 'company', opportunity: 'deal', task: 'activity' };
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

/** One `RemoteExecutionContext` per delivery (asynchronous service endpoint step). */
export const parseDynamics: DeliveryParser = (body) => {
  if (!isRecord(body) || typeof body.MessageName !== 'string' || typeof body.PrimaryEntityName !== 'string') {
    throw invalidPayload('Expected a RemoteExecutionContext with MessageName and PrimaryEntityName.');
  }
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
