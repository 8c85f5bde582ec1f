import type { ObjectType } from '../../model/identifiers';
import type { CompiledMapping } from '../../model/mapping';
import { ConnectorError } from '../errors';
import type { PipedriveHttp } from './http';
import { PIPEDRIVE_API, PIPEDRIVE_OBJECTS } from './spec';

/** What every path (changes, records, upsert, bulk, deletions) shares within one connector. */
export interface PipedriveContext {
  http: PipedriveHttp;
  mapping: CompiledMapping;
  lookbackMs: number;
  /** Each object's field definitions, read once and shared by the sync id lookup and the write check. */
  fields: FieldDefinitions;
  /** The sync id custom field's key per object (resolved once, see SyncIdKeys). */
  syncIdKeys: SyncIdKeys;
  /** How far back an activity is looked for by sync id (activities have no search endpoint). */
  activityLookupWindowMs: number;
}

export interface FieldDefinition {
  key: string;
  name: string;
  field_type: string;
  edit_flag?: boolean;
  mandatory_flag?: boolean;
  options?: { id: number | string; label: string }[] | null;
}

/**
 * The entity's field definitions (standard and custom) [P1][P7], one `GET /v1/{singular}Fields`
 * per object for the connector's life: the sync id lookup, the write check and the field list
 * all read them from here. `fresh` reads them again (after Pipedrive refused a value they let
 * through, or when a person asks for the field list) and keeps the new answer.
 */
export class FieldDefinitions {
  private readonly cache = new Map<ObjectType, Promise<FieldDefinition[]>>();

  constructor(private readonly http: PipedriveHttp) {}

  of(objectType: ObjectType, options: { fresh?: boolean } = {}): Promise<FieldDefinition[]> {
    let definitions = options.fresh ? undefined : this.cache.get(objectType);
    if (!definitions) {
      const read = fieldDefinitions(this.http, objectType);
      this.cache.set(objectType, read);
      // A failed read is not remembered (unless a newer read has taken its place already).
      read.catch(() => {
        if (this.cache.get(objectType) === read) this.cache.delete(objectType);
      });
      definitions = read;
    }
    return definitions;
  }
}

/**
 * Custom field keys are per company, so the sync id field's key is configured or found by name in
 * the field definitions (cached, see FieldDefinitions).
 */
export class SyncIdKeys {
  private readonly resolved = new Map<ObjectType, Promise<string>>();

  constructor(
    private readonly definitions: FieldDefinitions,
    private readonly configured: Partial<Record<ObjectType, string>>,
    private readonly fieldName: string,
  ) {}

  keyFor(objectType: ObjectType): Promise<string> {
    const configured = this.configured[objectType];
    if (configured) return Promise.resolve(configured);
    let key = this.resolved.get(objectType);
    if (!key) {
      key = this.discover(objectType);
      this.resolved.set(objectType, key);
      key.catch(() => this.resolved.delete(objectType));
    }
    return key;
  }

  private async discover(objectType: ObjectType): Promise<string> {
    const fields = await this.definitions.of(objectType);
    const field = fields.find((candidate) => candidate.name === this.fieldName);
    if (!field) {
      throw new ConnectorError({
        provider: 'pipedrive',
        errorClass: 'validation',
        message: `Pipedrive has no custom field named "${this.fieldName}" on ${PIPEDRIVE_OBJECTS[objectType].entity}; create a text field with that name or configure its key`,
      });
    }
    return field.key;
  }
}

/** One read of the entity's field definitions; FieldDefinitions keeps it. */
async function fieldDefinitions(http: PipedriveHttp, objectType: ObjectType): Promise<FieldDefinition[]> {
  // https://developers.pipedrive.com/docs/api/v1/PersonFields (GET /v1/personFields; same per entity)
  const answer = await http.json<FieldDefinition[]>({ method: 'GET', path: `${PIPEDRIVE_API.fieldsPath}/${PIPEDRIVE_OBJECTS[objectType].singular}Fields`, query: { limit: 500 }, kind: 'list' });
  return answer.data ?? [];
}

/** RFC 3339 to the second, as `updated_since` takes it (rounded down: never later than asked). */
export function rfc3339(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}
