import type { ConnectorMappingSpec } from '../../model/mapping';

/**
 * Pipedrive's default pipeline stages (ids 1-5) and deal statuses, through the record mapper's
 * synthesized `stage` field: `won` / `lost` when the deal is closed, else the stage id. Stage 5
 * ("Negotiations Started") also reads as negotiation; writes pick 4 (one-to-one).
 */
const STAGE_WRITES = { '1': 'prospecting', '2': 'qualification', '3': 'proposal', '4': 'negotiation', won: 'closed-won', lost: 'closed-lost' } as const;
const STAGE_READS = { ...STAGE_WRITES, '5': 'negotiation' } as const;

/**
 * Pipedrive's side of the canonical model, as data, over the flat native view record-mapper.ts
 * makes of a v2 record: `email` / `phone` are the primary entries of `emails` / `phones`, `stage`
 * and `due_at` are synthesized (see there), `done` travels as `'true'` / `'false'`, and custom
 * fields appear under their 40-hex keys (a tenant maps them with an override, e.g. a company
 * domain field). The sync id custom field and `update_time` are the connector's business.
 */
export const pipedriveDefaultMapping: ConnectorMappingSpec = {
  valueEncoding: 'json',
  objects: {
    contact: {
      nativeObject: 'persons',
      fields: [
        // v2 names the owner owner_id everywhere, activities included (v1's user_id) [P39].
        { canonical: 'owner', native: 'owner_id', type: 'owner', ownerFormat: 'number' },
        { canonical: 'firstName', native: 'first_name', type: 'string' },
        { canonical: 'lastName', native: 'last_name', type: 'string' },
        { canonical: 'email', native: 'email', type: 'string' },
        { canonical: 'phone', native: 'phone', type: 'string' },
        { canonical: 'title', native: 'job_title', type: 'string' },
      ],
    },
    company: {
      nativeObject: 'organizations',
      fields: [
        // v2 names the owner owner_id everywhere, activities included (v1's user_id) [P39].
        { canonical: 'owner', native: 'owner_id', type: 'owner', ownerFormat: 'number' },
        { canonical: 'name', native: 'name', type: 'string' },
        { canonical: 'website', native: 'website', type: 'string' },
        { canonical: 'industry', native: 'industry', type: 'string' },
      ],
    },
    deal: {
      nativeObject: 'deals',
      fields: [
        // v2 names the owner owner_id everywhere, activities included (v1's user_id) [P39].
        { canonical: 'owner', native: 'owner_id', type: 'owner', ownerFormat: 'number' },
        { canonical: 'name', native: 'title', type: 'string' },
        { canonical: 'amount', native: 'value', type: 'number' },
        { canonical: 'currency', native: 'currency', type: 'string' },
        { canonical: 'stage', native: 'stage', type: 'picklist', direction: 'read', values: STAGE_READS },
        { canonical: 'stage', native: 'stage', type: 'picklist', direction: 'write', values: STAGE_WRITES },
        { canonical: 'closeDate', native: 'expected_close_date', type: 'date', format: 'date' },
        { canonical: 'probability', native: 'probability', type: 'number' },
      ],
    },
    activity: {
      nativeObject: 'activities',
      fields: [
        // v2 names the owner owner_id everywhere, activities included (v1's user_id) [P39].
        { canonical: 'owner', native: 'owner_id', type: 'owner', ownerFormat: 'number' },
        { canonical: 'subject', native: 'subject', type: 'string' },
        { canonical: 'description', native: 'note', type: 'string' },
        { canonical: 'dueAt', native: 'due_at', type: 'datetime', format: 'datetime' },
        { canonical: 'status', native: 'done', type: 'picklist', values: { true: 'completed', false: 'open' } },
        // The activity type's key [P19]; other types (deadline, lunch, custom ones) read as kind null
        // (record-mapper.ts), and a tenant may map a custom type by overriding this picklist.
        { canonical: 'kind', native: 'type', type: 'picklist', values: { call: 'call', email: 'email', meeting: 'meeting', task: 'task' } },
      ],
    },
  },
};
