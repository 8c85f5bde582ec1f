import type { FastifyInstance } from 'fastify';
import { SalesforceApiError, show } from './errors';
import type { IdGenerator } from './ids';
import type { SObjectType } from './schema';

/** The standard channel: the selection the Setup page "Change Data Capture" shows [S96]. */
export const STANDARD_CHANNEL = 'ChangeEvents';
/** Objects whose change events an org can select (contact roles are read with their opportunity; User is not synced). */
export const SELECTABLE_OBJECTS: readonly SObjectType[] = ['Contact', 'Account', 'Opportunity', 'Task', 'Event'];
const MEMBER = 'PlatformEventChannelMember';
/** Key prefix of PlatformEventChannelMember ids (UNCONFIRMED: any 3-character prefix would do for a client). */
const KEY_PREFIX = '0v8';

export interface ChannelMember {
  Id: string;
  DeveloperName: string;
  EventChannel: string;
  SelectedEntity: string;
}

/**
 * The org's Change Data Capture selection: one PlatformEventChannelMember per entity selected on
 * the standard `ChangeEvents` channel [S96][S97]. Only selected entities publish change events
 * (on `/data/ChangeEvents` and on their own `/data/<Entity>ChangeEvent` channel) [S98].
 */
export class ChangeDataCaptureSelection {
  private readonly members = new Map<string, ChannelMember>();

  constructor(
    private readonly ids: IdGenerator,
    initial: readonly SObjectType[],
  ) {
    for (const type of initial) this.create({ FullName: `${STANDARD_CHANNEL}_${type}ChangeEvent`, Metadata: { eventChannel: STANDARD_CHANNEL, selectedEntity: `${type}ChangeEvent` } });
  }

  isSelected(type: SObjectType): boolean {
    return [...this.members.values()].some((member) => member.SelectedEntity === `${type}ChangeEvent`);
  }

  list(): ChannelMember[] {
    return [...this.members.values()];
  }

  /** Tooling create: `{ FullName, Metadata: { eventChannel, selectedEntity } }` [S97]; errors as [S99]. */
  create(body: unknown): ChannelMember {
    const input = (typeof body === 'object' && body !== null ? body : {}) as { FullName?: unknown; Metadata?: { eventChannel?: unknown; selectedEntity?: unknown } };
    const channel = input.Metadata?.eventChannel;
    const entity = input.Metadata?.selectedEntity;
    if (typeof channel !== 'string' || typeof entity !== 'string') throw new SalesforceApiError(400, 'REQUIRED_FIELD_MISSING', 'Required fields are missing: [Metadata.eventChannel, Metadata.selectedEntity]', ['Metadata']);
    if (channel !== STANDARD_CHANNEL) throw new SalesforceApiError(400, 'FIELD_INTEGRITY_EXCEPTION', `eventChannel: no channel named ${show(channel)} (the sandbox has the standard ChangeEvents channel only)`, ['eventChannel']);
    const object = SELECTABLE_OBJECTS.find((type) => `${type}ChangeEvent` === entity);
    if (!object) throw new SalesforceApiError(400, 'FIELD_INTEGRITY_EXCEPTION', `selectedEntity: ${entity} is not a change event of an entity that supports Change Data Capture`, ['selectedEntity']);
    const name = typeof input.FullName === 'string' && input.FullName !== '' ? input.FullName : `${channel}_${entity}`;
    if (!/^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<!_)$/.test(name)) {
      throw new SalesforceApiError(400, 'INVALID_FIELD', 'DeveloperName: can only contain underscores and alphanumeric characters, must begin with a letter, not end with an underscore and not contain two consecutive underscores', ['DeveloperName']);
    }
    if ([...this.members.values()].some((member) => member.DeveloperName === name)) throw new SalesforceApiError(400, 'DUPLICATE_DEVELOPER_NAME', `A channel member named ${name} already exists`, ['DeveloperName']);
    if (this.isSelected(object)) throw new SalesforceApiError(400, 'DUPLICATE_VALUE', `${entity} is already selected on the ${channel} channel`, ['selectedEntity']);
    const member: ChannelMember = { Id: this.ids.generate(KEY_PREFIX), DeveloperName: name, EventChannel: channel, SelectedEntity: entity };
    this.members.set(member.Id, member);
    return member;
  }

  /** False when no member has this id (15- or 18-character). */
  delete(id: string): boolean {
    const found = [...this.members.keys()].find((key) => key === id || key.slice(0, 15) === id);
    return found !== undefined && this.members.delete(found);
  }
}

const QUERY = /^\s*SELECT\s+(.+?)\s+FROM\s+PlatformEventChannelMember(?:\s+WHERE\s+(\w+)\s*=\s*'([^']*)')?\s*$/i;
const FIELDS = ['Id', 'DeveloperName', 'EventChannel', 'SelectedEntity'] as const;

/**
 * Tooling API routes for PlatformEventChannelMember [S97]: create (`POST`), query (the fields
 * above, optionally `WHERE <field> = '<value>'`), delete. Other Tooling objects are not emulated.
 */
export function registerToolingRoutes(app: FastifyInstance, selection: ChangeDataCaptureSelection): void {
  app.post<{ Params: { version: string } }>(`/services/data/:version/tooling/sobjects/${MEMBER}`, async (request, reply) => {
    const member = selection.create(request.body);
    return reply.code(201).send({ id: member.Id, success: true, errors: [], warnings: [], infos: [] });
  });
  app.delete<{ Params: { version: string; id: string } }>(`/services/data/:version/tooling/sobjects/${MEMBER}/:id`, async (request, reply) => {
    if (!selection.delete(request.params.id)) throw new SalesforceApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return reply.code(204).send();
  });
  app.get<{ Params: { version: string }; Querystring: { q?: string } }>('/services/data/:version/tooling/query', async (request) => {
    const match = QUERY.exec(request.query.q ?? '');
    if (!match) throw new SalesforceApiError(400, 'MALFORMED_QUERY', `The sandbox's Tooling API answers SELECT ${FIELDS.join(', ')} FROM ${MEMBER} [WHERE <field> = '<value>'] only`);
    const fields = (match[1] as string).split(',').map((field) => FIELDS.find((known) => known.toLowerCase() === field.trim().toLowerCase()) ?? field.trim());
    const unknown = fields.find((field) => !(FIELDS as readonly string[]).includes(field));
    if (unknown) throw new SalesforceApiError(400, 'INVALID_FIELD', `No such column '${unknown}' on entity '${MEMBER}'.`);
    const filterField = match[2] ? FIELDS.find((known) => known.toLowerCase() === (match[2] as string).toLowerCase()) : undefined;
    if (match[2] && !filterField) throw new SalesforceApiError(400, 'INVALID_FIELD', `No such column '${match[2]}' on entity '${MEMBER}'.`);
    const rows = selection.list().filter((member) => !filterField || member[filterField] === match[3]);
    const records = rows.map((member) => ({
      attributes: { type: MEMBER, url: `/services/data/${request.params.version}/tooling/sobjects/${MEMBER}/${member.Id}` },
      ...Object.fromEntries(fields.map((field) => [field, member[field as (typeof FIELDS)[number]]])),
    }));
    return { size: records.length, totalSize: records.length, done: true, queryLocator: null, entityTypeName: MEMBER, records };
  });
}
