import { choice, text } from './column-builders';
import { REGISTRATION_SETS } from './plugin-registration';

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
  /** Secrets (a service endpoint's `authvalue`): written, never read back (IsValidForRead false). */
  writeOnly?: boolean;
  /** Lookup columns (`_x_value`) name the entity they point at, for webhook EntityReferences. */
  lookupTarget?: string;
  /** Text columns: the most characters the column holds (attribute `MaxLength`). */
  maxLength?: number;
  /** Choice columns: the option values; any other is refused (`0x8004431a`). */
  options?: readonly { value: number; label: string }[];
  /**
   * Attribute `RequiredLevel`. The platform enforces only `SystemRequired`; `ApplicationRequired`
   * (business required) is a form rule the Web API does not check.
   */
  requiredLevel?: 'None' | 'SystemRequired' | 'ApplicationRequired' | 'Recommended';
  /** Attribute `AttributeType` where the column type does not say it (Memo, Picklist, Money…). */
  attributeType?: string;
  label?: string;
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
  bindings: Record<string, Binding>;
  /**
   * Activity tables: the `<table>_activity_parties` collection and the participation types the
   * table takes [D37][D41]; a party of another type is refused.
   */
  activityParties?: { navigation: string; masks: readonly number[] };
  /**
   * A read-only view over other sets (`activitypointers` over the activity tables [D39]): its rows
   * are theirs, projected on its columns, with `activitytypecode` naming the table.
   */
  union?: readonly string[];
  /** Default `statuscode` per `statecode`, and the status values each state allows [D46]. */
  states?: Readonly<Record<number, { default: number; allowed: readonly number[] }>>;
  /** Written by the platform only (the audit table [D82]): GET is served, writes are refused. */
  platformWritten?: boolean;
}

/**
 * A `nav@odata.bind` target. A polymorphic lookup (task `regardingobjectid`, connection
 * `record1id`) has one navigation property per target table, all filling the same column; the
 * platform remembers which table in a type column (`regardingobjecttypecode`,
 * `record1objecttypecode`), set to `typeValue` by that navigation property.
 */
export interface Binding {
  column: string;
  targetSet: string;
  typeColumn?: string;
  typeValue?: string | number;
}

/** Activity columns every activity table inherits from activitypointer [D39][D40]. */
function activityColumns(extra: Record<string, ColumnDefinition>): Record<string, ColumnDefinition> {
  return {
    subject: text(400, { label: 'Subject', requiredLevel: 'ApplicationRequired' }),
    description: text(2000, { label: 'Description', attributeType: 'Memo' }),
    scheduledstart: { type: 'datetime' },
    scheduledend: { type: 'datetime' },
    actualend: { type: 'datetime' },
    prioritycode: choice([[0, 'Low'], [1, 'Normal'], [2, 'High']], { label: 'Priority' }),
    statuscode: { type: 'number', attributeType: 'Status' },
    _regardingobjectid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
    regardingobjecttypecode: { type: 'string', readOnly: true },
    ...extra,
  };
}

/** `regardingobjectid_account_<table>` and `regardingobjectid_opportunity_<table>` [D42]. */
function regardingBindings(logicalName: string): Record<string, Binding> {
  return {
    [`regardingobjectid_account_${logicalName}`]: { column: '_regardingobjectid_value', targetSet: 'accounts', typeColumn: 'regardingobjecttypecode', typeValue: 'account' },
    [`regardingobjectid_opportunity_${logicalName}`]: { column: '_regardingobjectid_value', targetSet: 'opportunities', typeColumn: 'regardingobjecttypecode', typeValue: 'opportunity' },
  };
}

/** Tables the `activitypointers` view unions, in the order it lists them. */
export const ACTIVITY_SETS = ['tasks', 'phonecalls', 'emails', 'appointments'] as const;

/** Tables whose rows a user owns (OwnershipType UserOwned): the ones this sandbox syncs. */
const USER_OWNED: ReadonlySet<string> = new Set(['contacts', 'accounts', 'opportunities', 'tasks', 'phonecalls', 'emails', 'appointments']);

const systemColumns: Record<string, ColumnDefinition> = {
  createdon: { type: 'datetime', readOnly: true },
  modifiedon: { type: 'datetime', readOnly: true },
  versionnumber: { type: 'number', readOnly: true },
  _createdby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  _modifiedby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  _ownerid_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
  statecode: { type: 'number', attributeType: 'State' },
  crm_syncid: text(100, { label: 'crm-sync id' }),
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
    // A user-owned table's owner is set with `ownerid@odata.bind` on create or update [D71].
    bindings: USER_OWNED.has(setName) ? { ...bindings, ownerid: { column: '_ownerid_value', targetSet: 'systemusers' } } : bindings,
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
      firstname: text(50, { label: 'First Name', requiredLevel: 'Recommended' }),
      lastname: text(50, { label: 'Last Name', requiredLevel: 'ApplicationRequired' }),
      fullname: text(160, { label: 'Full Name', readOnly: true }),
      emailaddress1: text(100, { label: 'Email' }),
      telephone1: text(50, { label: 'Business Phone' }),
      jobtitle: text(100, { label: 'Job Title' }),
      mobilephone: text(50, { label: 'Mobile Phone' }),
      address1_city: text(80, { label: 'Address 1: City' }),
      address1_country: text(80, { label: 'Address 1: Country/Region' }),
      preferredcontactmethodcode: choice([[1, 'Any'], [2, 'Email'], [3, 'Phone'], [4, 'Fax'], [5, 'Mail']], { label: 'Preferred Method of Contact' }),
      // A tenant's own column from a solution (publisher prefix crm_), for custom-field mappings.
      crm_loyaltytier: text(100, { label: 'Loyalty Tier' }),
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
      name: text(160, { label: 'Account Name', requiredLevel: 'ApplicationRequired' }),
      emailaddress1: text(100, { label: 'Email' }),
      telephone1: text(50, { label: 'Main Phone' }),
      websiteurl: text(200, { label: 'Website' }),
      address1_city: text(80, { label: 'Address 1: City' }),
      address1_country: text(80, { label: 'Address 1: Country/Region' }),
      revenue: { type: 'number', attributeType: 'Money' },
      numberofemployees: { type: 'number' },
    },
    [],
  ),
  opportunities: define(
    'opportunities',
    'opportunity',
    'opportunityid',
    {
      name: text(300, { label: 'Topic', requiredLevel: 'ApplicationRequired' }),
      estimatedvalue: { type: 'number', attributeType: 'Money' },
      estimatedclosedate: { type: 'date' },
      stepname: text(200, { label: 'Pipeline Phase' }),
      closeprobability: { type: 'number' },
      // A solution choice column: custom option values start at 100,000,000 (publisher prefix).
      crm_dealstage: choice(
        [
          [100_000_000, 'Prospecting'],
          [100_000_001, 'Qualification'],
          [100_000_002, 'Proposal'],
          [100_000_003, 'Negotiation'],
          [100_000_004, 'Closed Won'],
          [100_000_005, 'Closed Lost'],
        ],
        { label: 'Deal Stage' },
      ),
      _parentaccountid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
      _parentcontactid_value: { type: 'guid', readOnly: true, lookupTarget: 'contact' },
    },
    [],
    {
      parentaccountid: { column: '_parentaccountid_value', targetSet: 'accounts' },
      parentcontactid: { column: '_parentcontactid_value', targetSet: 'contacts' },
    },
  ),
  // A task takes no party types but its owner and regarding [D37]: a contact party is refused.
  tasks: withActivity(define(
    'tasks',
    'task',
    'activityid',
    {
      subject: text(200, { label: 'Subject', requiredLevel: 'ApplicationRequired' }),
      description: text(2000, { label: 'Description', attributeType: 'Memo' }),
      scheduledend: { type: 'datetime' },
      prioritycode: choice([[0, 'Low'], [1, 'Normal'], [2, 'High']], { label: 'Priority' }),
      _regardingobjectid_value: { type: 'guid', readOnly: true, lookupTarget: 'account' },
      // EntityName column: the logical name of the table the regarding lookup points at (the column name UNCONFIRMED).
      regardingobjecttypecode: { type: 'string', readOnly: true },
    },
    [],
    {
      regardingobjectid_account_task: { column: '_regardingobjectid_value', targetSet: 'accounts', typeColumn: 'regardingobjecttypecode', typeValue: 'account' },
      regardingobjectid_opportunity_task: { column: '_regardingobjectid_value', targetSet: 'opportunities', typeColumn: 'regardingobjecttypecode', typeValue: 'opportunity' },
    },
  ), [], undefined),
  // Phone call, email and appointment [D40][D43][D44][D45]: activity tables sharing activityid with activitypointer.
  phonecalls: withActivity(
    define('phonecalls', 'phonecall', 'activityid', activityColumns({ phonenumber: text(200, { label: 'Phone Number' }), directioncode: { type: 'boolean' } }), [], regardingBindings('phonecall')),
    [1, 2],
    { 0: { default: 1, allowed: [1] }, 1: { default: 2, allowed: [2, 4] }, 2: { default: 3, allowed: [3] } },
  ),
  emails: withActivity(
    define('emails', 'email', 'activityid', activityColumns({ directioncode: { type: 'boolean' } }), [], regardingBindings('email')),
    [1, 2, 3, 4],
    { 0: { default: 1, allowed: [1, 8] }, 1: { default: 2, allowed: [2, 3, 4, 6, 7] }, 2: { default: 5, allowed: [5] } },
  ),
  appointments: withActivity(
    define('appointments', 'appointment', 'activityid', activityColumns({ location: text(200, { label: 'Location' }) }), [], regardingBindings('appointment')),
    [5, 6, 7],
    { 0: { default: 1, allowed: [1, 2] }, 1: { default: 3, allowed: [3] }, 2: { default: 4, allowed: [4] }, 3: { default: 5, allowed: [5, 6] } },
  ),
  // The activity view [D39]: Retrieve and RetrieveMultiple only; no crm_syncid (a table's own columns are not on it).
  activitypointers: {
    setName: 'activitypointers',
    logicalName: 'activitypointer',
    primaryId: 'activityid',
    columns: {
      activityid: { type: 'guid' },
      activitytypecode: { type: 'string', readOnly: true },
      ...activityColumns({}),
      createdon: { type: 'datetime', readOnly: true },
      modifiedon: { type: 'datetime', readOnly: true },
      versionnumber: { type: 'number', readOnly: true },
      _createdby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      _modifiedby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      _ownerid_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      statecode: { type: 'number', attributeType: 'State' },
    },
    alternateKeys: [],
    bindings: {},
    union: ACTIVITY_SETS,
  },
  // Activity parties [D37][D41]: GET (RetrieveMultiple) only; written through an activity's `<table>_activity_parties`.
  activityparties: define(
    'activityparties',
    'activityparty',
    'activitypartyid',
    {
      _activityid_value: { type: 'guid', readOnly: true, lookupTarget: 'activitypointer' },
      _partyid_value: { type: 'guid', readOnly: true },
      // EntityName column naming the party's table (drives the lookuplogicalname annotation).
      partyobjecttypecode: { type: 'string', readOnly: true },
      participationtypemask: choice(
        [[1, 'Sender'], [2, 'To Recipient'], [3, 'CC Recipient'], [4, 'BCC Recipient'], [5, 'Required attendee'], [6, 'Optional attendee'], [7, 'Organizer'], [8, 'Regarding'], [9, 'Owner'], [10, 'Resource'], [11, 'Customer'], [12, 'Chat participant']],
        { label: 'Participation Type' },
      ),
      addressused: text(320, { label: 'Address' }),
    },
    [],
    {
      partyid_contact: { column: '_partyid_value', targetSet: 'contacts', typeColumn: 'partyobjecttypecode', typeValue: 'contact' },
      partyid_account: { column: '_partyid_value', targetSet: 'accounts', typeColumn: 'partyobjecttypecode', typeValue: 'account' },
    },
  ),
  // Connections [D29][D30]: record1 -> record2 with a role on each side; the platform adds the reciprocal row.
  connections: define(
    'connections',
    'connection',
    'connectionid',
    {
      name: text(500, { label: 'Connection Name', readOnly: true }),
      description: text(2000, { label: 'Description', attributeType: 'Memo' }),
      _record1id_value: { type: 'guid', readOnly: true },
      _record2id_value: { type: 'guid', readOnly: true },
      // Picklists of object type codes: 1 account, 2 contact, 3 opportunity [D30][D31].
      record1objecttypecode: { type: 'number', readOnly: true, attributeType: 'Picklist' },
      record2objecttypecode: { type: 'number', readOnly: true, attributeType: 'Picklist' },
      _record1roleid_value: { type: 'guid', readOnly: true, lookupTarget: 'connectionrole' },
      _record2roleid_value: { type: 'guid', readOnly: true, lookupTarget: 'connectionrole' },
      ismaster: { type: 'boolean', readOnly: true },
      _relatedconnectionid_value: { type: 'guid', readOnly: true, lookupTarget: 'connection' },
    },
    [],
    {
      ...connectionEnds(1),
      ...connectionEnds(2),
      record1roleid: { column: '_record1roleid_value', targetSet: 'connectionroles' },
      record2roleid: { column: '_record2roleid_value', targetSet: 'connectionroles' },
    },
  ),
  // The organisation's users [D72]: listable (`GET /systemusers`), seeded with the sandbox; a disabled
  // user owns nothing new. Not administered through this API (users come from Entra ID).
  systemusers: define(
    'systemusers',
    'systemuser',
    'systemuserid',
    {
      firstname: text(64, { label: 'First Name', readOnly: true }),
      lastname: text(64, { label: 'Last Name', readOnly: true }),
      fullname: text(200, { label: 'Full Name', readOnly: true }),
      internalemailaddress: text(100, { label: 'Primary Email', readOnly: true }),
      domainname: text(1024, { label: 'User Name', readOnly: true }),
      isdisabled: { type: 'boolean', readOnly: true },
      applicationid: { type: 'guid', readOnly: true },
    },
    [],
  ),
  connectionroles: define(
    'connectionroles',
    'connectionrole',
    'connectionroleid',
    {
      name: text(100, { label: 'Name', requiredLevel: 'SystemRequired' }),
      category: { type: 'number', attributeType: 'Picklist' },
    },
    [],
  ),
  // Webhook registrations: service endpoints, SDK messages, filters, steps and step images [D74]-[D77].
  ...REGISTRATION_SETS,
  // The audit table [D82]: one row per audited create, update or delete, written by the platform.
  audits: {
    setName: 'audits',
    logicalName: 'audit',
    primaryId: 'auditid',
    columns: {
      auditid: { type: 'guid', readOnly: true },
      operation: { type: 'number', readOnly: true, attributeType: 'Picklist' },
      action: { type: 'number', readOnly: true, attributeType: 'Picklist' },
      attributemask: { type: 'string', readOnly: true, attributeType: 'Memo' },
      createdon: { type: 'datetime', readOnly: true },
      objecttypecode: { type: 'string', readOnly: true, attributeType: 'EntityName' },
      _objectid_value: { type: 'guid', readOnly: true },
      _userid_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      _callinguserid_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      _regardingobjectid_value: { type: 'guid', readOnly: true },
      transactionid: { type: 'guid', readOnly: true },
      useradditionalinfo: { type: 'string', readOnly: true },
    },
    alternateKeys: [],
    bindings: {},
    platformWritten: true,
  },
};

/** `record1id_account`, `record1id_contact`, `record1id_opportunity` (and record2): one per target table. */
function connectionEnds(end: 1 | 2): Record<string, Binding> {
  const targets: [string, string, number][] = [
    ['account', 'accounts', 1],
    ['contact', 'contacts', 2],
    ['opportunity', 'opportunities', 3],
  ];
  return Object.fromEntries(
    targets.map(([logicalName, targetSet, code]) => [
      `record${end}id_${logicalName}`,
      { column: `_record${end}id_value`, targetSet, typeColumn: `record${end}objecttypecode`, typeValue: code },
    ]),
  );
}

/** The logical name of the table a lookup column of `row` points at (`@Microsoft.Dynamics.CRM.lookuplogicalname`). */
export function lookupLogicalName(definition: EntitySetDefinition, row: Record<string, unknown>, column: string): string | undefined {
  for (const binding of Object.values(definition.bindings)) {
    if (binding.column !== column) continue;
    if (binding.typeColumn !== undefined && row[binding.typeColumn] !== binding.typeValue) continue;
    return ENTITY_SETS[binding.targetSet]?.logicalName;
  }
  return definition.columns[column]?.lookupTarget;
}

function withActivity(definition: EntitySetDefinition, masks: readonly number[], states: EntitySetDefinition['states']): EntitySetDefinition {
  return { ...definition, activityParties: { navigation: `${definition.logicalName}_activity_parties`, masks }, states };
}

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
