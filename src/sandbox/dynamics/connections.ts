import { randomUUID } from 'node:crypto';
import { ENTITY_SETS, type EntitySetDefinition } from './entity-sets';
import type { Actor, DataverseStore, Row, StoreTriggers } from './store';

/** The "Stakeholder" connection role the sandbox seeds, with a fixed id so tests can name it. */
export const STAKEHOLDER_ROLE_ID = '5f2b1c3a-8d4e-4a6b-9c0d-1e2f3a4b5c6d';

const CONNECTIONS = ENTITY_SETS.connections as EntitySetDefinition;

/**
 * Creating a connection creates two rows: the one asked for (ismaster true) and its reciprocal
 * with the records and roles swapped; each names the other in `relatedconnectionid` [D30][D31].
 * Deleting either removes both (UNCONFIRMED: the docs describe the pair on create only).
 */
export function connectionTriggers(store: DataverseStore): StoreTriggers {
  return {
    beforeCreate: (definition, values) => {
      if (definition !== CONNECTIONS || values._relatedconnectionid_value) return values;
      return { ...values, ismaster: true, _relatedconnectionid_value: randomUUID() };
    },
    afterCreate: (definition, row, actor) => {
      if (definition !== CONNECTIONS || row.ismaster !== true) return;
      store.create(CONNECTIONS, reciprocalOf(row), actor);
    },
    afterDelete: (definition, row, actor: Actor) => {
      if (definition !== CONNECTIONS || typeof row._relatedconnectionid_value !== 'string') return;
      if (store.get(CONNECTIONS, row._relatedconnectionid_value)) store.delete(CONNECTIONS, row._relatedconnectionid_value, actor);
    },
  };
}

function reciprocalOf(row: Row): Row {
  return {
    connectionid: row._relatedconnectionid_value,
    _relatedconnectionid_value: row.connectionid,
    ismaster: false,
    _record1id_value: row._record2id_value,
    record1objecttypecode: row.record2objecttypecode,
    _record2id_value: row._record1id_value,
    record2objecttypecode: row.record1objecttypecode,
    _record1roleid_value: row._record2roleid_value,
    _record2roleid_value: row._record1roleid_value,
    description: row.description ?? null,
  };
}
