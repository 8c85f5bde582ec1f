/** Column types as the Web API's EDM names them; they drive $filter literal checks and rendering. */
export type ColumnType = 'string' | 'guid' | 'datetime' | 'date' | 'number' | 'boolean';

export const edmTypeName: Record<ColumnType, string> = {
  string: 'Edm.String',
  guid: 'Edm.Guid',
  datetime: 'Edm.DateTimeOffset',
  date: 'Edm.Date',
  number: 'Edm.Decimal',
  boolean: 'Edm.Boolean',
};

export interface ColumnDefinition {
  type: ColumnType;
  /** System columns the platform maintains; writes to them are ignored, as Dataverse does. */
  readOnly?: boolean;
  /** Lookup columns (`_x_value`) name the entity they point at, for webhook EntityReferences. */
  lookupTarget?: string;
}

export interface EntitySetDefinition {
  /** Collection name in URLs, e.g. `contacts`. */
  setName: string;
  /** Logical (table) name, e.g. `contact`: used in messages, webhooks and `@odata.context`. */
  logicalName: string;
  primaryId: string;
  columns: Record<string, ColumnDefinition>;
  /** Alternate keys, each a list of columns; single-column keys are all this sandbox needs. */
  alternateKeys: string[][];
  /** Single-valued navigation properties settable with `name@odata.bind`, and the column each fills. */
  bindings: Record<string, { column: string; targetSet: string }>;
}

const systemColumns: Record<string, ColumnDefinition> = {
  createdon: { type: 'datetime', readOnly: true },
  modifiedon: { type: 'datetime', readOnly: true },
  versionnumber: { type: 'number', readOnly: true },
  _createdby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  _modifiedby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  _ownerid_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  statecode: { type: 'number' },
  crm_syncid: { type: 'string' },
};

function define(
  setName: string,
  logicalName: string,
  primaryId: string,
  columns: Record<string, ColumnDefinition>,
  keys: string[][],
  bindings: EntitySetDefinition['bindings'] = {},
): EntitySetDefinition {
  return {
    bindings,
    setName,
    logicalName,
    primaryId,
    columns: { [primaryId]: { type: 'guid' }, ...columns, ...systemColumns },
    alternateKeys: [...keys, ['crm_syncid']],
  };
}

export const ENTITY_SETS: Readonly<Record<string, EntitySetDefinition>> = {
  contacts: define(
    'contacts',
    'contact',
    'contactid',
    {
      firstname: { type: 'string' },
      lastname: { type: 'string' },
      fullname: { type: 'string', readOnly: true },
      emailaddress1: { type: 'string' },
      telephone1: { type: 'string' },
      jobtitle: { type: 'string' },
      mobilephone: { type: 'string' },
      address1_city: { type: 'string' },
      address1_country: { type: 'string' },
      // A tenant's own column from a solution (publisher prefix crm_), for custom-field mappings.
      crm_loyaltytier: { type: 'string' },
      _parentcustomerid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
    },
    [['emailaddress1']],
    { parentcustomerid_account: { column: '_parentcustomerid_value', targetSet: 'accounts' } },
  ),
  accounts: define(
    'accounts',
    'account',
    'accountid',
    {
      name: { type: 'string' },
      emailaddress1: { type: 'string' },
      telephone1: { type: 'string' },
      websiteurl: { type: 'string' },
      address1_city: { type: 'string' },
      address1_country: { type: 'string' },
      revenue: { type: 'number' },
      numberofemployees: { type: 'number' },
    },
    [],
  ),
  opportunities: define(
    'opportunities',
    'opportunity',
    'opportunityid',
    {
      name: { type: 'string' },
      estimatedvalue: { type: 'number' },
      estimatedclosedate: { type: 'date' },
      stepname: { type: 'string' },
      closeprobability: { type: 'number' },
      // A solution choice column: custom option values start at 100,000,000 (publisher prefix).
      crm_dealstage: { type: 'number' },
      _parentaccountid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
    },
    [],
    { parentaccountid: { column: '_parentaccountid_value', targetSet: 'accounts' } },
  ),
  tasks: define(
    'tasks',
    'task',
    'activityid',
    {
      subject: { type: 'string' },
      description: { type: 'string' },
      scheduledend: { type: 'datetime' },
      prioritycode: { type: 'number' },
      _regardingobjectid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
    },
    [],
    { regardingobjectid_account_task: { column: '_regardingobjectid_value', targetSet: 'accounts' } },
  ),
};

export function entitySet(name: string): EntitySetDefinition | undefined {
  return Object.hasOwn(ENTITY_SETS, name) ? ENTITY_SETS[name] : undefined;
}

/** Columns derived from others, recomputed on every write (e.g. a contact's fullname). */
export function deriveColumns(definition: EntitySetDefinition, record: Record<string, unknown>): void {
  if (definition.logicalName === 'contact') {
    const parts = [record.firstname, record.lastname].filter((part): part is string => typeof part === 'string' && part !== '');
    record.fullname = parts.length > 0 ? parts.join(' ') : null;
  }
}
