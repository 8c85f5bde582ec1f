import type { FastifyInstance, FastifyReply } from 'fastify';
import { errorBody, invalidParam, requiredParam, tooManyRecords, ZohoError, type ZohoErrorBody } from './errors';
import { MAX_PAGE, MAX_WRITE_RECORDS, renderRecord } from './records';
import type { RecordStore } from './store';

type Query = Record<string, string | undefined>;

/** A succeeded entry of a Contact Roles write (the message is secondary [Z22]). */
interface RoleEntry {
  code: 'SUCCESS';
  details: { id: string };
  message: string;
  status: 'success';
}

/**
 * A deal's Contact Roles, the related list that holds a deal's contacts beyond `Contact_Name`
 * [Z19][Z21][Z22], and the organisation's role list [Z23]. One deal per call; no listing across
 * deals exists. Paging of the per-deal list follows the records listing (UNCONFIRMED [Z19]).
 */
export function registerContactRoleRoutes(app: FastifyInstance, store: RecordStore, prefix: string): void {
  const deal = (id: string): void => {
    // An unknown deal: INVALID_DATA naming the id, as lookups answer it (UNCONFIRMED for this route).
    if (!store.get('Deals', id)) throw new ZohoError(400, errorBody('INVALID_DATA', 'the related id given seems to be invalid', { id }));
  };

  // Contact roles of the organisation: GET /Contacts/roles [Z23].
  app.get(`${prefix}/Contacts/roles`, async () => ({ contact_roles: store.contactRoles() }));

  // Get Contact Roles of a deal: GET /Deals/{id}/Contact_Roles?fields= (mandatory) [&ids=] [Z19].
  app.get<{ Params: { id: string }; Querystring: Query }>(`${prefix}/Deals/:id/Contact_Roles`, async (request, reply) => {
    deal(request.params.id);
    const fields = request.query.fields?.split(',').map((field) => field.trim()).filter(Boolean);
    if (!fields || fields.length === 0) throw requiredParam('fields');
    const page = request.query.page === undefined ? 1 : Number(request.query.page);
    const perPage = request.query.per_page === undefined ? MAX_PAGE : Number(request.query.per_page);
    if (!Number.isInteger(page) || page < 1) throw invalidParam('page', 'invalid data');
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > MAX_PAGE) throw invalidParam('per_page', `per_page must be between 1 and ${MAX_PAGE}`);
    const wanted = request.query.ids?.split(',').filter(Boolean);
    const roles = new Map(store.contactRoles().map((role) => [role.id, role]));
    const rows = store
      .dealContactRoles(request.params.id)
      .filter(([contactId]) => !wanted || wanted.includes(contactId))
      .flatMap(([contactId, roleId]) => {
        const contact = store.get('Contacts', contactId);
        const role = roles.get(roleId);
        return contact ? [{ ...renderRecord(store, contact, fields), Contact_Role: role ? { name: role.name, id: role.id } : null, id: contact.id }] : [];
      });
    const slice = rows.slice((page - 1) * perPage, page * perPage);
    if (slice.length === 0) return reply.code(204).send();
    return { data: slice, info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < rows.length } };
  });

  // Add or update a contact's role: PUT /Deals/{id}/Contact_Roles/{contact_id} {data:[{Contact_Role}]} [Z21].
  app.put<{ Params: { id: string; contact: string }; Body: unknown }>(`${prefix}/Deals/:id/Contact_Roles/:contact`, async (request, reply) => {
    deal(request.params.id);
    const entry = ((request.body as { data?: unknown } | undefined)?.data as unknown[] | undefined)?.[0] as { Contact_Role?: unknown } | undefined;
    const given = entry?.Contact_Role;
    const byId = typeof given === 'object' && given !== null ? (given as { id?: unknown }).id : given;
    const roleId = typeof byId === 'string' ? byId : typeof given === 'object' && given !== null ? roleByName(store, (given as { name?: unknown }).name) : undefined;
    if (roleId === undefined) return sendEntries(reply, [errorBody('MANDATORY_NOT_FOUND', 'required field not found', { api_name: 'Contact_Role', json_path: '$.data[0].Contact_Role' })]);
    if (!store.contactRoles().some((role) => role.id === roleId)) return sendEntries(reply, [errorBody('INVALID_DATA', 'the related id given seems to be invalid', { api_name: 'Contact_Role', id: roleId })]);
    if (!store.get('Contacts', request.params.contact)) return sendEntries(reply, [errorBody('INVALID_DATA', 'the related id given seems to be invalid', { id: request.params.contact })]);
    store.setContactRole(request.params.id, request.params.contact, roleId);
    return sendEntries(reply, [{ code: 'SUCCESS', details: { id: request.params.contact }, message: 'relation updated', status: 'success' }]);
  });

  // Remove a contact role: DELETE /Deals/{id}/Contact_Roles/{contact_id}, or ?ids= (up to 100) [Z22].
  const remove = (dealId: string, ids: readonly string[], reply: FastifyReply): FastifyReply => {
    deal(dealId);
    if (ids.length > MAX_WRITE_RECORDS) throw tooManyRecords(MAX_WRITE_RECORDS);
    return sendEntries(
      reply,
      ids.map((id): RoleEntry | ZohoErrorBody => (store.removeContactRole(dealId, id) ? { code: 'SUCCESS', details: { id }, message: 'relation removed', status: 'success' } : errorBody('INVALID_DATA', 'the related id given seems to be invalid', { id }))),
    );
  };
  app.delete<{ Params: { id: string; contact: string } }>(`${prefix}/Deals/:id/Contact_Roles/:contact`, async (request, reply) => remove(request.params.id, [request.params.contact], reply));
  app.delete<{ Params: { id: string }; Querystring: Query }>(`${prefix}/Deals/:id/Contact_Roles`, async (request, reply) => {
    const ids = request.query.ids?.split(',').filter(Boolean) ?? [];
    if (ids.length === 0) throw requiredParam('ids');
    return remove(request.params.id, ids, reply);
  });
}

function roleByName(store: RecordStore, name: unknown): string | undefined {
  return typeof name === 'string' ? store.contactRoles().find((role) => role.name === name)?.id : undefined;
}

/** Per-entry answers as record writes give them: all succeeded 200, all refused 400, mixed 207 [Z16]. */
function sendEntries(reply: FastifyReply, entries: readonly (RoleEntry | ZohoErrorBody)[]): FastifyReply {
  const ok = entries.filter((entry) => entry.status === 'success').length;
  return reply.code(ok === entries.length ? 200 : ok === 0 ? 400 : 207).send({ data: entries });
}
