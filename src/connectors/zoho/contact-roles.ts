import type { ExternalRecord, UpsertInput, UpsertOutcome } from '../connector';
import { ConnectorError } from '../errors';
import { chunked } from '../unique-keys';
import { mapLimited } from '../map-limited';
import type { ZohoHttp } from './http';

/**
 * A deal's contacts are its `Contact_Name` and its Contact Roles, a related list Zoho serves one
 * deal per call (`GET /Deals/{id}/Contact_Roles`, no form across deals [Z19][Z22]): every deal
 * read costs one more call (1 credit) per deal, a few in flight. Writes make the roles exact: a
 * missing contact is added with the organisation's first role (`PUT .../Contact_Roles/{contact}`
 * needs one [Z21][Z23]), an extra one removed (`DELETE ...?ids=` [Z22]).
 */

/** Role lists read at a time (the connector's concurrency limit still bounds them). */
const LISTS_IN_FLIGHT = 4;
const PAGE = 200;

interface RoleRow {
  id?: unknown;
}

const rolesPath = (dealId: string): string => `Deals/${dealId}/Contact_Roles`;

/** Every contact holding a role on the deal, all pages. */
export async function listContactRoles(http: ZohoHttp, dealId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page += 1) {
    // `fields` is mandatory [Z19]; the contact's id comes with every row, the name is the cheapest field to ask.
    const query = new URLSearchParams({ fields: 'Last_Name', page: String(page), per_page: String(PAGE) });
    const response = await http.call<{ data?: RoleRow[]; info?: { more_records?: boolean } }>({ method: 'GET', path: `${rolesPath(dealId)}?${query.toString()}` });
    for (const row of response.body?.data ?? []) if (typeof row.id === 'string' && row.id !== '') ids.push(row.id);
    if (response.body?.info?.more_records !== true) return ids;
  }
}

/** Deal records with `contacts` = Contact_Name ∪ the contacts holding a role, read for each deal. */
export async function withDealContacts(http: ZohoHttp, deals: readonly ExternalRecord[]): Promise<ExternalRecord[]> {
  return mapLimited(deals, LISTS_IN_FLIGHT, async (deal) => {
    const roles = await listContactRoles(http, deal.externalId);
    const primary = deal.references.primaryContact;
    const contacts = [...new Set([...(typeof primary === 'string' ? [primary] : []), ...roles])];
    return { ...deal, references: { ...deal.references, contacts } };
  });
}

/**
 * What makes Contact_Name ∪ roles exactly `wanted`: every wanted contact holds a role (so the set
 * survives a later change of Contact_Name), roles of others are removed, and a Contact_Name outside
 * the set is cleared (the set is the whole truth).
 */
export function dealContactsPlan(wanted: readonly string[], contactName: string | null, current: readonly string[]): { add: string[]; remove: string[]; clearContactName: boolean } {
  const want = new Set(wanted);
  const have = new Set(current);
  return {
    add: [...want].filter((id) => !have.has(id)),
    remove: [...have].filter((id) => !want.has(id)),
    clearContactName: contactName !== null && !want.has(contactName),
  };
}

/** The organisation's roles, read once per connector: a role is needed to add a contact [Z21][Z23]. */
export class DefaultContactRole {
  private role: Promise<{ id: string; name: string }> | undefined;

  constructor(private readonly http: ZohoHttp) {}

  get(): Promise<{ id: string; name: string }> {
    if (!this.role) {
      const read = this.read();
      this.role = read;
      read.catch(() => {
        if (this.role === read) this.role = undefined;
      });
    }
    return this.role;
  }

  private async read(): Promise<{ id: string; name: string }> {
    const response = await this.http.call<{ contact_roles?: { id: string; name: string; sequence_number?: number }[] }>({ method: 'GET', path: 'Contacts/roles' });
    const roles = [...(response.body?.contact_roles ?? [])].sort((a, b) => (a.sequence_number ?? 0) - (b.sequence_number ?? 0));
    const first = roles[0];
    if (!first) throw new ConnectorError({ provider: 'zoho', errorClass: 'validation', message: 'Zoho has no contact role to give a deal contact (Setup > Contact Roles is empty)' });
    return { id: first.id, name: first.name };
  }
}

const WHOLE_CALL = new Set(['auth', 'rate-limited', 'quota-exhausted', 'transient']);

/**
 * After the deals were written: for each written deal whose input has a `contacts` slot, the
 * roles are made exact (dealContactsPlan). Contact_Name is known from the input's
 * `primaryContact`, else read (one `?ids=` call per 100 deals). A refusal fails that deal's outcome.
 */
export async function writeDealContacts(http: ZohoHttp, roles: DefaultContactRole, inputs: readonly UpsertInput[], outcomes: UpsertOutcome[]): Promise<void> {
  const todo = inputs
    .map((input, index) => ({ input, index, outcome: outcomes[index] }))
    .filter((item): item is { input: UpsertInput; index: number; outcome: Extract<UpsertOutcome, { status: 'created' | 'updated' | 'unchanged' }> } => item.input.references?.contacts !== undefined && (item.outcome?.status === 'created' || item.outcome?.status === 'updated'));
  if (todo.length === 0) return;
  const unknownName = todo.filter((item) => item.input.references?.primaryContact === undefined).map((item) => item.outcome.externalId);
  const names = new Map<string, string | null>();
  for (const chunk of chunked(unknownName, 100)) {
    const query = new URLSearchParams({ ids: chunk.join(','), fields: 'Contact_Name' });
    const response = await http.call<{ data?: { id: string; Contact_Name?: { id?: string } | null }[] }>({ method: 'GET', path: `Deals?${query.toString()}` });
    for (const row of response.body?.data ?? []) names.set(row.id, row.Contact_Name?.id ?? null);
  }
  await mapLimited(todo, LISTS_IN_FLIGHT, async ({ input, index, outcome }) => {
    const given = input.references?.contacts;
    const wanted = Array.isArray(given) ? given : typeof given === 'string' ? [given] : [];
    const primary = input.references?.primaryContact;
    const contactName = primary !== undefined ? (Array.isArray(primary) ? (primary[0] ?? null) : primary) : (names.get(outcome.externalId) ?? null);
    try {
      const current = outcome.status === 'created' ? [] : await listContactRoles(http, outcome.externalId);
      const plan = dealContactsPlan(wanted, contactName, current);
      if (plan.clearContactName) await http.call({ method: 'PUT', path: 'Deals', body: { data: [{ id: outcome.externalId, Contact_Name: null }] } });
      if (plan.add.length > 0) {
        const role = await roles.get();
        // Add Contact Roles to a deal: one contact per call [Z21].
        for (const contactId of plan.add) await http.call({ method: 'PUT', path: `${rolesPath(outcome.externalId)}/${contactId}`, body: { data: [{ Contact_Role: { id: role.id, name: role.name } }] } });
      }
      // Remove Contact Roles: up to 100 contacts per call [Z22].
      for (const chunk of chunked(plan.remove, 100)) await http.call({ method: 'DELETE', path: `${rolesPath(outcome.externalId)}?ids=${chunk.join(',')}` });
    } catch (error) {
      if (!(error instanceof ConnectorError) || WHOLE_CALL.has(error.errorClass)) throw error;
      outcomes[index] = { syncId: input.syncId, status: 'failed', error: error.toInfo() };
    }
  });
}
