import { randomUUID } from 'node:crypto';
import type { ExternalRecord } from '../connectors/connector';
import { keyValueOf } from '../connectors/unique-keys';
import { isUuid, type ObjectType } from '../model/identifiers';
import { syncSettingsSchema } from '../model/sync-settings';
import { objectConflictPoliciesSchema, type ObjectConflictPolicies } from '../model/sync';
import type { ConnectionsRepository } from '../store/connections-repository';
import type { RecordLinksRepository } from '../store/record-links-repository';
import type { LinkedRecord } from './apply-to-target';

/**
 * Links source records to canonical ids once, before the batch fans out to several targets: by the
 * sync id they carry, else by the connection's match keys (the same person met first in another
 * CRM), else to a new canonical record. `readAt` is when the read began (database clock).
 */
export async function linkRecords(
  deps: { connections: Pick<ConnectionsRepository, 'getConnection'>; links: RecordLinksRepository },
  tenantId: string,
  connectionId: string,
  objectType: ObjectType,
  records: readonly ExternalRecord[],
  readAt: string,
): Promise<LinkedRecord[]> {
  const keyFields = await matchKeysOf(deps.connections, connectionId, objectType);
  const canonical = await deps.links.ensureLinks(
    tenantId,
    connectionId,
    objectType,
    records.map((record) => {
      const carriesSyncId = Boolean(record.syncId && isUuid(record.syncId));
      return {
        externalId: record.externalId,
        proposedCanonicalId: carriesSyncId ? (record.syncId as string) : randomUUID(),
        carriesSyncId,
        keys: keyFields.flatMap((field) => {
          const value = keyValueOf(field, record.fields);
          return value === undefined ? [] : [{ field, value }];
        }),
      };
    }),
  );
  return records.flatMap((record) => {
    const canonicalId = canonical.get(record.externalId);
    return canonicalId ? [{ ...record, canonicalId, readAt }] : [];
  });
}

export async function matchKeysOf(connections: Pick<ConnectionsRepository, 'getConnection'>, connectionId: string, objectType: ObjectType): Promise<string[]> {
  const connection = await connections.getConnection(connectionId);
  const settings = syncSettingsSchema.safeParse(connection?.settings.sync ?? {});
  if (!settings.success) throw new Error(`connection ${connectionId} settings.sync is invalid: ${settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return settings.data.matchKeys[objectType] ?? [];
}


/** A connection's conflict policies for an object (settings.sync.conflictPolicies, defaults applied). */
export async function conflictPoliciesOf(connections: Pick<ConnectionsRepository, 'getConnection'>, connectionId: string, objectType: ObjectType): Promise<ObjectConflictPolicies> {
  const connection = await connections.getConnection(connectionId);
  const settings = syncSettingsSchema.parse(connection?.settings.sync ?? {});
  return settings.conflictPolicies[objectType] ?? objectConflictPoliciesSchema.parse({});
}
