import { choice, text } from './column-builders';
import type { ColumnDefinition, EntitySetDefinition } from './entity-sets';
import { DataverseError } from './errors';
import type { Actor, DataverseStore, Row, StoreTriggers, WriteEvent } from './store';
import type { EndpointAuth } from './webhooks';

/**
 * The tables a webhook registration is made of [D74][D75][D76][D77]: a service endpoint (contract
 * Webhook) names the URL and its authentication; SDK message processing steps tie it to a message
 * (`sdkmessages`) on a table (`sdkmessagefilters`); a step image adds the row as it was. The
 * Plugin Registration Tool writes these same rows; crm-sync writes them through the Web API.
 */

/** Organisation-owned system tables: no owner binding, no crm_syncid, no alternate keys. */
function systemTable(setName: string, logicalName: string, primaryId: string, columns: Record<string, ColumnDefinition>, bindings: EntitySetDefinition['bindings'] = {}): EntitySetDefinition {
  return {
    setName,
    logicalName,
    primaryId,
    columns: {
      [primaryId]: { type: 'guid' },
      ...columns,
      createdon: { type: 'datetime', readOnly: true },
      modifiedon: { type: 'datetime', readOnly: true },
      versionnumber: { type: 'number', readOnly: true },
      _createdby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
      _modifiedby_value: { type: 'guid', readOnly: true, lookupTarget: 'systemuser' },
    },
    alternateKeys: [],
    bindings,
  };
}

/** `contract` of a service endpoint [D74]; 8 is Webhook. */
export const WEBHOOK_CONTRACT = 8;
/** `authtype` values a webhook endpoint takes [D74][D75]. */
export const AUTH_TYPES = { webhookKey: 4, httpHeader: 5, httpQueryString: 6 } as const;
/** `imagetype` of a step image [D77]. */
const IMAGE_TYPES = { pre: 0, post: 1, both: 2 } as const;

export const REGISTRATION_SETS: Readonly<Record<string, EntitySetDefinition>> = {
  sdkmessages: systemTable('sdkmessages', 'sdkmessage', 'sdkmessageid', { name: text(256, { label: 'Name', readOnly: true }) }),
  sdkmessagefilters: systemTable('sdkmessagefilters', 'sdkmessagefilter', 'sdkmessagefilterid', {
    primaryobjecttypecode: { type: 'string', readOnly: true, attributeType: 'EntityName' },
    secondaryobjecttypecode: { type: 'string', readOnly: true, attributeType: 'EntityName' },
    iscustomprocessingstepallowed: { type: 'boolean', readOnly: true },
    _sdkmessageid_value: { type: 'guid', readOnly: true, lookupTarget: 'sdkmessage' },
  }),
  serviceendpoints: systemTable('serviceendpoints', 'serviceendpoint', 'serviceendpointid', {
    name: text(256, { label: 'Name', requiredLevel: 'SystemRequired' }),
    description: text(2000, { label: 'Description', attributeType: 'Memo' }),
    contract: choice(
      [[1, 'OneWay'], [2, 'Queue'], [3, 'Rest'], [4, 'TwoWay'], [5, 'Topic'], [6, 'Queue (Persistent)'], [7, 'Event Hub'], [8, 'Webhook'], [9, 'Event Grid'], [10, 'Managed Data Lake']],
      { label: 'Contract', requiredLevel: 'SystemRequired' },
    ),
    authtype: choice([[1, 'ACS'], [2, 'SAS Key'], [3, 'SAS Token'], [4, 'Webhook Key'], [5, 'Http Header'], [6, 'Http Query String'], [7, 'Connection String'], [8, 'Access Key']], { label: 'Authentication Type' }),
    // Written, never read back [D74].
    authvalue: text(2048, { label: 'Authentication Value', writeOnly: true }),
    isauthvalueset: { type: 'boolean', readOnly: true },
    url: text(2000, { label: 'Url' }),
    messageformat: choice([[1, 'BinaryXML'], [2, 'Json'], [3, 'TextXML']], { label: 'Message Format' }),
    connectionmode: choice([[1, 'Normal'], [2, 'Federated']], { label: 'Connection Mode', requiredLevel: 'SystemRequired' }),
  }),
  sdkmessageprocessingsteps: systemTable(
    'sdkmessageprocessingsteps',
    'sdkmessageprocessingstep',
    'sdkmessageprocessingstepid',
    {
      name: text(256, { label: 'Name', requiredLevel: 'SystemRequired' }),
      description: text(256, { label: 'Description' }),
      mode: choice([[0, 'Synchronous'], [1, 'Asynchronous']], { label: 'Execution Mode', requiredLevel: 'SystemRequired' }),
      stage: choice([[5, 'Initial Pre-operation (For internal use only)'], [10, 'Pre-validation'], [15, 'Internal Pre-operation Before External Plugins (For internal use only)'], [20, 'Pre-operation'], [25, 'Internal Pre-operation After External Plugins (For internal use only)'], [30, 'Main Operation (For internal use only)'], [35, 'Internal Post-operation Before External Plugins (For internal use only)'], [40, 'Post-operation'], [45, 'Internal Post-operation After External Plugins (For internal use only)'], [50, 'Post-operation (Deprecated)'], [55, 'Final Post-operation (For internal use only)']], { label: 'Execution Stage', requiredLevel: 'SystemRequired' }),
      rank: { type: 'number' },
      supporteddeployment: choice([[0, 'Server Only'], [1, 'Microsoft Dynamics 365 Client for Outlook Only'], [2, 'Both']], { label: 'Deployment' }),
      asyncautodelete: { type: 'boolean' },
      filteringattributes: text(100_000, { label: 'Filtering Attributes' }),
      _sdkmessageid_value: { type: 'guid', readOnly: true, lookupTarget: 'sdkmessage' },
      _sdkmessagefilterid_value: { type: 'guid', readOnly: true, lookupTarget: 'sdkmessagefilter' },
      _eventhandler_value: { type: 'guid', readOnly: true, lookupTarget: 'serviceendpoint' },
    },
    {
      sdkmessageid: { column: '_sdkmessageid_value', targetSet: 'sdkmessages' },
      sdkmessagefilterid: { column: '_sdkmessagefilterid_value', targetSet: 'sdkmessagefilters' },
      // The event handler is polymorphic (a plug-in type or a service endpoint); only endpoints are emulated.
      eventhandler_serviceendpoint: { column: '_eventhandler_value', targetSet: 'serviceendpoints' },
    },
  ),
  sdkmessageprocessingstepimages: systemTable(
    'sdkmessageprocessingstepimages',
    'sdkmessageprocessingstepimage',
    'sdkmessageprocessingstepimageid',
    {
      name: text(256, { label: 'Name', requiredLevel: 'SystemRequired' }),
      entityalias: text(256, { label: 'Entity Alias', requiredLevel: 'SystemRequired' }),
      imagetype: choice([[0, 'PreImage'], [1, 'PostImage'], [2, 'Both']], { label: 'Image Type', requiredLevel: 'SystemRequired' }),
      messagepropertyname: text(256, { label: 'Message Property Name', requiredLevel: 'SystemRequired' }),
      attributes: text(100_000, { label: 'Attributes' }),
      _sdkmessageprocessingstepid_value: { type: 'guid', readOnly: true, lookupTarget: 'sdkmessageprocessingstep' },
    },
    { sdkmessageprocessingstepid: { column: '_sdkmessageprocessingstepid_value', targetSet: 'sdkmessageprocessingsteps' } },
  ),
};

const set = (name: string): EntitySetDefinition => REGISTRATION_SETS[name] as EntitySetDefinition;

export function isRegistrationTable(definition: EntitySetDefinition): boolean {
  return Object.hasOwn(REGISTRATION_SETS, definition.setName);
}

/** Messages the sandbox's tables process; steps can be registered on the first three. */
const MESSAGES = ['Create', 'Update', 'Delete', 'Retrieve', 'RetrieveMultiple'] as const;
const STEP_MESSAGES: ReadonlySet<string> = new Set(['Create', 'Update', 'Delete']);

/** The platform's own rows: one `sdkmessage` per message, one filter per (message, table) that takes steps. */
export function seedRegistrationCatalog(store: DataverseStore, tables: readonly string[], actor: Actor): void {
  for (const name of MESSAGES) {
    const message = store.create(set('sdkmessages'), { name }, actor);
    if (!STEP_MESSAGES.has(name)) continue;
    for (const table of tables) {
      store.create(set('sdkmessagefilters'), { primaryobjecttypecode: table, secondaryobjecttypecode: 'none', iscustomprocessingstepallowed: true, _sdkmessageid_value: message.sdkmessageid }, actor);
    }
  }
}

// UNCONFIRMED: codes and wording of the registration checks below; the platform refuses these
// registrations, but the docs print no messages. 0x80040203 is the platform's "invalid argument".
const INVALID_ARGUMENT = '0x80040203';
function invalid(message: string): DataverseError {
  return new DataverseError(400, INVALID_ARGUMENT, message);
}

function requireColumns(definition: EntitySetDefinition, values: Row): void {
  for (const [column, spec] of Object.entries(definition.columns)) {
    if (spec.requiredLevel === 'SystemRequired' && (values[column] === undefined || values[column] === null)) throw invalid(`Attribute '${column}' is required for entity '${definition.logicalName}'.`);
  }
}

/** Parses HttpHeader / HttpQueryString auth values: `<settings><setting name="k" value="v" /></settings>` [D75]. */
function settingsOf(authvalue: string): [string, string][] {
  return [...authvalue.matchAll(/<setting\s+name="([^"]*)"\s+value="([^"]*)"\s*\/>/g)].map((match) => [match[1] as string, match[2] as string]);
}

function checkEndpoint(input: Row): Row {
  // The platform's defaults for a webhook: JSON messages, normal connection mode.
  const values: Row = { messageformat: 2, connectionmode: 1, ...input };
  requireColumns(set('serviceendpoints'), values);
  if (values.contract !== WEBHOOK_CONTRACT) throw invalid('This environment accepts service endpoints of contract Webhook (8) only.');
  if (typeof values.url !== 'string' || !/^https?:\/\//.test(values.url)) throw invalid('A webhook service endpoint needs an absolute http(s) url.');
  const authtype = values.authtype;
  if (authtype !== AUTH_TYPES.webhookKey && authtype !== AUTH_TYPES.httpHeader && authtype !== AUTH_TYPES.httpQueryString) {
    throw invalid('A webhook authenticates with WebhookKey (4), HttpHeader (5) or HttpQueryString (6).');
  }
  if (typeof values.authvalue !== 'string' || values.authvalue === '') throw invalid('authvalue is required for a webhook service endpoint.');
  if (authtype !== AUTH_TYPES.webhookKey && settingsOf(values.authvalue).length === 0) throw invalid('authvalue must be <settings><setting name="..." value="..." /></settings> for this authtype.');
  return { ...values, isauthvalueset: true };
}

function checkStep(store: DataverseStore, values: Row): Row {
  requireColumns(set('sdkmessageprocessingsteps'), values);
  if (typeof values._sdkmessageid_value !== 'string') throw invalid("A step needs its message: bind 'sdkmessageid'.");
  if (typeof values._eventhandler_value !== 'string') throw invalid("A step needs its event handler: bind 'eventhandler_serviceendpoint'.");
  const filter = typeof values._sdkmessagefilterid_value === 'string' ? store.get(set('sdkmessagefilters'), values._sdkmessagefilterid_value) : undefined;
  if (filter && filter._sdkmessageid_value !== values._sdkmessageid_value) throw invalid('The message filter belongs to another message than the step.');
  if (values.mode === 1 && values.stage !== 40) throw invalid('An asynchronous step must be registered in the PostOperation stage (40).');
  return { rank: 1, supporteddeployment: 0, asyncautodelete: false, ...values };
}

function checkImage(store: DataverseStore, values: Row): Row {
  requireColumns(set('sdkmessageprocessingstepimages'), values);
  const step = typeof values._sdkmessageprocessingstepid_value === 'string' ? store.get(set('sdkmessageprocessingsteps'), values._sdkmessageprocessingstepid_value) : undefined;
  if (!step) throw invalid("An image needs its step: bind 'sdkmessageprocessingstepid'.");
  const message = store.get(set('sdkmessages'), String(step._sdkmessageid_value))?.name;
  if (message === 'Create' && values.imagetype !== IMAGE_TYPES.post) throw invalid('A Create step has no pre-image.');
  if (message === 'Delete' && values.imagetype !== IMAGE_TYPES.pre) throw invalid('A Delete step has no post-image.');
  const property = message === 'Create' ? 'Id' : 'Target';
  if (values.messagepropertyname !== property) throw invalid(`The ${String(message)} message's image property is '${property}'.`);
  return values;
}

function stepsOf(store: DataverseStore, endpointId: string): Row[] {
  return [...store.rows(set('sdkmessageprocessingsteps'))].filter((step) => step._eventhandler_value === endpointId);
}

/**
 * Checks each registration row as the platform does, refuses to delete an endpoint that steps
 * still use (UNCONFIRMED wording: the platform's dependency error), and removes a step's images
 * with it.
 */
export function registrationTriggers(store: DataverseStore): StoreTriggers {
  return {
    beforeCreate: (definition, values) => {
      if (definition === set('serviceendpoints')) return checkEndpoint(values);
      if (definition === set('sdkmessageprocessingsteps')) return checkStep(store, values);
      if (definition === set('sdkmessageprocessingstepimages')) return checkImage(store, values);
      return values;
    },
    beforeDelete: (definition, row) => {
      if (definition === set('serviceendpoints') && stepsOf(store, String(row.serviceendpointid)).length > 0) {
        throw new DataverseError(400, '0x8004f01f', 'The object you tried to delete is associated with another object and cannot be deleted.');
      }
    },
    afterDelete: (definition, row, actor) => {
      if (definition !== set('sdkmessageprocessingsteps')) return;
      const images = set('sdkmessageprocessingstepimages');
      for (const image of [...store.rows(images)].filter((candidate) => candidate._sdkmessageprocessingstepid_value === row.sdkmessageprocessingstepid)) {
        store.delete(images, String(image.sdkmessageprocessingstepimageid), actor);
      }
    },
  };
}

/** One delivery a write causes: where, how authenticated, under which step, with which images. */
export interface StepDelivery {
  url: string;
  auth: EndpointAuth;
  step: { id: string; name: string; mode: number; stage: number };
  preImages: { alias: string; attributes: string[] | 'all' }[];
}

function authOf(endpoint: Row): EndpointAuth {
  const value = String(endpoint.authvalue);
  if (endpoint.authtype === AUTH_TYPES.webhookKey) return { type: 'WebhookKey', key: value };
  const settings = settingsOf(value);
  if (endpoint.authtype === AUTH_TYPES.httpHeader) return { type: 'HttpHeader', headers: settings };
  return { type: 'HttpQueryString', parameters: settings };
}

/** The registered steps a committed write triggers: its table, its message, a webhook endpoint. */
export function stepDeliveries(store: DataverseStore, event: WriteEvent): StepDelivery[] {
  if (isRegistrationTable(event.definition)) return [];
  const message = [...store.rows(set('sdkmessages'))].find((row) => row.name === event.message);
  if (!message) return [];
  const deliveries: StepDelivery[] = [];
  for (const step of store.rows(set('sdkmessageprocessingsteps'))) {
    if (step._sdkmessageid_value !== message.sdkmessageid || step.statecode === 1) continue;
    const filter = typeof step._sdkmessagefilterid_value === 'string' ? store.get(set('sdkmessagefilters'), step._sdkmessagefilterid_value) : undefined;
    // A step without a filter runs for every table the message applies to.
    if (filter && filter.primaryobjecttypecode !== event.definition.logicalName) continue;
    if (event.message === 'Update' && !touchesFilteringAttributes(step, event)) continue;
    const endpoint = store.get(set('serviceendpoints'), String(step._eventhandler_value));
    if (!endpoint || endpoint.contract !== WEBHOOK_CONTRACT) continue;
    const images = [...store.rows(set('sdkmessageprocessingstepimages'))].filter((image) => image._sdkmessageprocessingstepid_value === step.sdkmessageprocessingstepid);
    deliveries.push({
      url: String(endpoint.url),
      auth: authOf(endpoint),
      step: { id: String(step.sdkmessageprocessingstepid), name: String(step.name), mode: Number(step.mode), stage: Number(step.stage) },
      preImages: images
        .filter((image) => image.imagetype === IMAGE_TYPES.pre || image.imagetype === IMAGE_TYPES.both)
        .map((image) => ({ alias: String(image.entityalias), attributes: typeof image.attributes === 'string' && image.attributes !== '' ? image.attributes.split(',').map((name) => name.trim()) : 'all' })),
    });
  }
  return deliveries;
}

/** An Update step with `filteringattributes` runs only when one of them was written [D76]. */
function touchesFilteringAttributes(step: Row, event: WriteEvent): boolean {
  if (typeof step.filteringattributes !== 'string' || step.filteringattributes === '') return true;
  const written = new Set(Object.keys(event.attributes).map((column) => /^_(.+)_value$/.exec(column)?.[1] ?? column));
  return step.filteringattributes.split(',').some((name) => written.has(name.trim()));
}
