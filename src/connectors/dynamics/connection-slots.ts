import type { ObjectType } from '../../model/identifiers';
import type { ExternalRecord } from '../connector';
import { ConnectorError } from '../errors';
import type { DataverseHttp } from './http';
import { normalizeTimestamp, type DataverseRow } from './record-mapper';
import type { ConnectionSlotSpec, DynamicsSpec } from './spec';

/**
 * A many slot held by connection rows (a deal's stakeholders [D29][D35]): read for a page of
 * records with one `Microsoft.Dynamics.CRM.In` query per `chunk` ids [D34], never one per record.
 * Only the row whose record1 is our record counts; the platform's reciprocal (record1 = the
 * contact) is never matched by the filter, so each link is seen once [D30].
 */
export interface ConnectionLink {
  connectionId: string;
  recordId: string;
  relatedId: string;
  modifiedAt: string;
  modifiedBy: string | undefined;
}

interface Page {
  value: DataverseRow[];
  '@odata.nextLink'?: string;
}

const COLUMNS = 'connectionid,_record1id_value,_record2id_value,modifiedon,_modifiedby_value';

export class ConnectionSlots {
  private readonly roles = new Map<string, Promise<string>>();

  constructor(
    private readonly http: DataverseHttp,
    private readonly spec: DynamicsSpec,
  ) {}

  slotOf(objectType: ObjectType): ConnectionSlotSpec | undefined {
    return this.spec.objects[objectType].connections;
  }

  /** The role's id, looked up by name once per connector: role ids differ per environment. */
  roleId(slot: ConnectionSlotSpec): Promise<string> {
    let role = this.roles.get(slot.roleName);
    if (!role) {
      role = this.lookupRole(slot.roleName);
      role.catch(() => this.roles.delete(slot.roleName));
      this.roles.set(slot.roleName, role);
    }
    return role;
  }

  private async lookupRole(name: string): Promise<string> {
    const filter = encodeURIComponent(`name eq '${name.replace(/'/g, "''")}'`);
    const page = await this.http.json<Page>({ method: 'GET', url: `connectionroles?$select=connectionroleid&$filter=${filter}` });
    const id = page.value[0]?.connectionroleid;
    if (typeof id !== 'string') throw new ConnectorError({ provider: 'dynamics', errorClass: 'validation', message: `no connection role named '${name}' exists in this environment` });
    return id;
  }

  /** The links of each record (all of them: `[]` for a record that has none). */
  async read(slot: ConnectionSlotSpec, recordIds: readonly string[]): Promise<Map<string, ConnectionLink[]>> {
    const links = new Map<string, ConnectionLink[]>(recordIds.map((id) => [id.toLowerCase(), []]));
    if (recordIds.length === 0) return links;
    const role = await this.roleId(slot);
    const ids = [...links.keys()];
    for (let start = 0; start < ids.length; start += slot.chunk) {
      const values = ids.slice(start, start + slot.chunk).map((id) => `'${id}'`).join(',');
      const filter = `Microsoft.Dynamics.CRM.In(PropertyName='record1id',PropertyValues=[${values}]) and _record2roleid_value eq ${role} and record2objecttypecode eq ${slot.record2TypeCode}`;
      for (const row of await this.all(`connections?$select=${COLUMNS}&$filter=${encodeURIComponent(filter)}`)) {
        const link = toLink(row);
        links.get(link.recordId)?.push(link);
      }
    }
    return links;
  }

  /**
   * Records with the slot's links: the whole set of related ids, and `modifiedAt` the latest of the
   * row's own stamp and its links' (a stakeholder added is a change of the deal), with the author
   * of whichever is latest, so another user's link is never taken for our own echo.
   */
  async enrich(objectType: ObjectType, records: ExternalRecord[]): Promise<ExternalRecord[]> {
    const slot = this.slotOf(objectType);
    if (!slot || records.length === 0) return records;
    const links = await this.read(slot, records.map((record) => record.externalId));
    return records.map((record) => withLinks(record, slot.slot, links.get(record.externalId.toLowerCase()) ?? []));
  }

  /** One page of links created or changed in [from, until): the records they belong to. */
  async changedPage(slot: ConnectionSlotSpec, url: string | undefined, from: string, until: string | undefined, prefer: string): Promise<{ links: ConnectionLink[]; next?: string | undefined }> {
    let request = url;
    if (!request) {
      const role = await this.roleId(slot);
      const filter = `modifiedon ge ${from}${until ? ` and modifiedon lt ${until}` : ''} and _record2roleid_value eq ${role} and record1objecttypecode eq ${slot.record1TypeCode} and record2objecttypecode eq ${slot.record2TypeCode}`;
      request = `connections?$select=${COLUMNS}&$filter=${encodeURIComponent(filter)}&$orderby=modifiedon%20asc`;
    }
    const page = await this.http.json<Page>({ method: 'GET', url: request, headers: { prefer } });
    return { links: page.value.map(toLink), next: page['@odata.nextLink'] };
  }

  private async all(first: string): Promise<DataverseRow[]> {
    const rows: DataverseRow[] = [];
    let url: string | undefined = first;
    while (url) {
      const page: Page = await this.http.json<Page>({ method: 'GET', url, headers: { prefer: `odata.maxpagesize=${this.spec.paging.maxPageSize}` } });
      rows.push(...page.value);
      url = page['@odata.nextLink'];
    }
    return rows;
  }
}

function toLink(row: DataverseRow): ConnectionLink {
  const modifiedBy = row._modifiedby_value;
  return {
    connectionId: String(row.connectionid).toLowerCase(),
    recordId: String(row._record1id_value).toLowerCase(),
    relatedId: String(row._record2id_value).toLowerCase(),
    modifiedAt: normalizeTimestamp(row.modifiedon),
    modifiedBy: typeof modifiedBy === 'string' ? modifiedBy : undefined,
  };
}

export function withLinks(record: ExternalRecord, slot: string, links: readonly ConnectionLink[]): ExternalRecord {
  const related = [...new Set(links.map((link) => link.relatedId))].sort();
  const latest = links.reduce<ConnectionLink | undefined>((newest, link) => (!newest || link.modifiedAt > newest.modifiedAt ? link : newest), undefined);
  // Stamps are rendered to the second: a link of the row's own second may be the later change, and
  // taking its author keeps another user's link from passing for our echo.
  const newer = latest !== undefined && latest.modifiedAt >= record.modifiedAt;
  return {
    ...record,
    references: { ...record.references, [slot]: related },
    ...(newer ? { modifiedAt: latest.modifiedAt, ...(latest.modifiedBy ? { lastModifiedBy: latest.modifiedBy } : {}) } : {}),
  };
}

/** What to create and delete so the links are exactly `wanted`. */
export function diffLinks(current: readonly ConnectionLink[], wanted: readonly string[]): { create: string[]; remove: ConnectionLink[] } {
  const want = new Set(wanted.map((id) => id.toLowerCase()));
  const kept = new Set<string>();
  const remove: ConnectionLink[] = [];
  for (const link of current) {
    // A second link to the same contact is a duplicate: the slot is a set.
    if (want.has(link.relatedId) && !kept.has(link.relatedId)) kept.add(link.relatedId);
    else remove.push(link);
  }
  return { create: [...want].filter((id) => !kept.has(id)), remove };
}
