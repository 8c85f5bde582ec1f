import { createHash } from 'node:crypto';
import { ENTITY_SETS, type ColumnDefinition, type EntitySetDefinition } from './entity-sets';
import { badQuery, DataverseError, ErrorCodes } from './errors';
import type { ODataRequest, OperationContext } from './operations';
import { JSON_CONTENT_TYPE, type ODataResponse } from './render';

/**
 * Table definitions, as the Web API serves them [D27]:
 * `EntityDefinitions(LogicalName='contact')/Attributes`, one attribute by
 * `Attributes(LogicalName='lastname')`, or the attributes of one type by a cast
 * (`/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`). Each
 * attribute has its `@odata.type`, `LogicalName`, `AttributeType`, `RequiredLevel`,
 * `IsValidForCreate`/`IsValidForUpdate`; text adds `MaxLength`; a choice's options come with
 * `$expand=OptionSet`. `$select` takes the base type's properties on the base collection and the
 * derived type's after a cast, as OData does.
 */
export function isMetadataPath(path: string): boolean {
  return path.startsWith('EntityDefinitions');
}

const PATH = /^EntityDefinitions\(LogicalName='([a-z_]+)'\)\/Attributes(?:\(LogicalName='([a-z0-9_]+)'\))?(?:\/Microsoft\.Dynamics\.CRM\.([A-Za-z]+AttributeMetadata))?$/;

const BASE_PROPERTIES = ['MetadataId', 'LogicalName', 'SchemaName', 'EntityLogicalName', 'AttributeType', 'AttributeTypeName', 'DisplayName', 'RequiredLevel', 'IsValidForCreate', 'IsValidForUpdate', 'IsValidForRead', 'IsCustomAttribute', 'IsPrimaryId'];
const DERIVED_PROPERTIES: Record<string, string[]> = {
  StringAttributeMetadata: ['MaxLength', 'Format'],
  MemoAttributeMetadata: ['MaxLength', 'Format'],
  PicklistAttributeMetadata: ['DefaultFormValue'],
};

export function readMetadata(context: OperationContext, request: ODataRequest): ODataResponse {
  if (request.method !== 'GET') throw new DataverseError(405, ErrorCodes.odataQuery, 'The metadata endpoints are read-only in this sandbox.');
  const match = PATH.exec(decodeURIComponent(request.path));
  if (!match) throw new DataverseError(404, ErrorCodes.resourceNotFound, `Resource not found for the segment '${request.path.split('/').pop() ?? request.path}'.`);
  const [, logicalName, attributeName, cast] = match as unknown as [string, string, string | undefined, string | undefined];
  const definition = Object.values(ENTITY_SETS).find((set) => set.logicalName === logicalName);
  if (!definition) throw new DataverseError(404, ErrorCodes.recordNotFound, `Could not find entity with LogicalName = ${logicalName}`);
  for (const option of request.query.keys()) {
    if (option !== '$select' && option !== '$expand') throw badQuery(`The query parameter ${option} is not supported by this sandbox on metadata`);
  }
  const allowed = [...BASE_PROPERTIES, ...(cast ? (DERIVED_PROPERTIES[cast] ?? []) : [])];
  const select = request.query.get('$select')?.split(',').map((name) => name.trim()).filter(Boolean);
  for (const name of select ?? []) {
    if (!allowed.includes(name)) throw badQuery(`Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${cast ?? 'AttributeMetadata'}'.`);
  }
  const expand = request.query.get('$expand');
  if (expand !== null && !(cast === 'PicklistAttributeMetadata' && /^OptionSet(\(.*\))?$/.test(expand))) throw badQuery(`Could not find a property named '${expand}' on type 'Microsoft.Dynamics.CRM.${cast ?? 'AttributeMetadata'}'.`);

  let attributes = Object.entries(definition.columns).map(([column, spec]) => describe(definition, column, spec));
  if (cast) attributes = attributes.filter((attribute) => attribute['@odata.type'] === `#Microsoft.Dynamics.CRM.${cast}`);
  const shaped = attributes.map((attribute) => shape(attribute, select, expand !== null));
  const context_ = `${context.serviceRoot}/$metadata#EntityDefinitions('${logicalName}')/Attributes${cast ? `/Microsoft.Dynamics.CRM.${cast}` : ''}`;
  if (attributeName !== undefined) {
    const one = shaped[attributes.findIndex((attribute) => attribute.LogicalName === attributeName)];
    if (!one) throw new DataverseError(404, ErrorCodes.recordNotFound, `Could not find attribute with LogicalName = ${attributeName} on entity ${logicalName}`);
    return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: { '@odata.context': `${context_}/$entity`, ...one } };
  }
  return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: { '@odata.context': context_, value: shaped } };
}

type Attribute = Record<string, unknown> & { '@odata.type': string; LogicalName: string };

function shape(attribute: Attribute, select: string[] | undefined, expandOptions: boolean): Record<string, unknown> {
  const { OptionSet: options, ...rest } = attribute;
  const picked = select ? Object.fromEntries(Object.entries(rest).filter(([name]) => name === '@odata.type' || name === 'MetadataId' || select.includes(name))) : rest;
  return expandOptions ? { ...picked, OptionSet: options } : picked;
}

function attributeTypeOf(column: string, spec: ColumnDefinition, definition: EntitySetDefinition): string {
  if (spec.attributeType) return spec.attributeType;
  if (column === definition.primaryId) return 'Uniqueidentifier';
  if (spec.lookupTarget) return column === '_ownerid_value' ? 'Owner' : 'Lookup';
  return { string: 'String', guid: 'Uniqueidentifier', datetime: 'DateTime', date: 'DateTime', number: 'Decimal', boolean: 'Boolean' }[spec.type];
}

const METADATA_TYPES: Record<string, string> = {
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  State: 'StateAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  Decimal: 'DecimalAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
  Owner: 'LookupAttributeMetadata',
  Uniqueidentifier: 'AttributeMetadata',
};

const label = (text: string) => ({ LocalizedLabels: [{ Label: text, LanguageCode: 1033 }], UserLocalizedLabel: { Label: text, LanguageCode: 1033 } });

function describe(definition: EntitySetDefinition, column: string, spec: ColumnDefinition): Attribute {
  // Lookup values are read as `_x_value`; the attribute itself is `x`.
  const logicalName = /^_(.+)_value$/.exec(column)?.[1] ?? column;
  const type = attributeTypeOf(column, spec, definition);
  const writable = !spec.readOnly && column !== definition.primaryId;
  return {
    '@odata.type': `#Microsoft.Dynamics.CRM.${METADATA_TYPES[type] ?? 'AttributeMetadata'}`,
    MetadataId: uuidOf(`${definition.logicalName}.${logicalName}`),
    LogicalName: logicalName,
    SchemaName: logicalName,
    EntityLogicalName: definition.logicalName,
    AttributeType: type,
    AttributeTypeName: { Value: `${type}Type` },
    DisplayName: label(spec.label ?? logicalName),
    RequiredLevel: { Value: spec.requiredLevel ?? (column === definition.primaryId || column === '_ownerid_value' ? 'SystemRequired' : 'None'), CanBeChanged: true, ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings' },
    IsValidForCreate: writable || column === definition.primaryId,
    IsValidForUpdate: writable,
    IsValidForRead: spec.writeOnly !== true,
    IsCustomAttribute: logicalName.startsWith('crm_'),
    IsPrimaryId: column === definition.primaryId,
    ...(type === 'String' || type === 'Memo' ? { MaxLength: spec.maxLength ?? 100, Format: type === 'Memo' ? 'TextArea' : 'Text' } : {}),
    ...(type === 'Picklist'
      ? { DefaultFormValue: -1, OptionSet: { Name: `${definition.logicalName}_${logicalName}`, OptionSetType: 'Picklist', Options: (spec.options ?? []).map((option) => ({ Value: option.value, Label: label(option.label) })) } }
      : {}),
  };
}

/** Stable ids per attribute, so two reads agree. */
function uuidOf(text: string): string {
  const hex = createHash('sha1').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
