import type { FastifyInstance } from 'fastify';
import { HubSpotError, errorBody } from './errors';
import { objectTypeParam } from './request-context';
import { SCHEMAS, type HubSpotObjectType, type PropertyDefinition } from './schema';
import type { RecordStore } from './store';

/** Built-in properties: HubSpot-defined, like the ones a portal starts with. */
function isHubSpotDefined(type: HubSpotObjectType, name: string): boolean {
  return name in SCHEMAS[type].properties;
}

const FIELD_TYPES: Record<PropertyDefinition['kind'], { type: string; fieldType: string }> = {
  string: { type: 'string', fieldType: 'text' },
  number: { type: 'number', fieldType: 'number' },
  datetime: { type: 'datetime', fieldType: 'date' },
  enumeration: { type: 'enumeration', fieldType: 'select' },
};

/**
 * A property definition as `GET /crm/v3/properties/{objectType}` returns it [H9][H45]: name,
 * label, type and fieldType, options (value, label, displayOrder, hidden), hasUniqueValue,
 * hubspotDefined, `externalOptions` for enumerations whose values live elsewhere (pipeline
 * stages), and `modificationMetadata.readOnlyValue` for values only HubSpot sets.
 */
function describe(type: HubSpotObjectType, name: string, definition: PropertyDefinition): Record<string, unknown> {
  const { type: kind, fieldType } = FIELD_TYPES[definition.kind];
  const hubspotDefined = isHubSpotDefined(type, name);
  return {
    name,
    label: definition.label ?? name,
    type: kind,
    fieldType,
    description: '',
    groupName: `${SCHEMAS[type].singular}information`,
    options: (definition.options ?? []).map((value, displayOrder) => ({ label: value, value, displayOrder, hidden: false })),
    displayOrder: -1,
    calculated: false,
    externalOptions: definition.kind === 'enumeration' && !definition.options,
    hasUniqueValue: definition.unique === true,
    hidden: false,
    hubspotDefined,
    modificationMetadata: { archivable: !hubspotDefined, readOnlyDefinition: hubspotDefined, readOnlyValue: definition.readOnly === true },
    formField: !definition.readOnly,
    archived: false,
  };
}

/** `GET /crm/v3/properties/{objectType}` and `/{propertyName}` [H9][H45]. */
export function registerPropertyRoutes(app: FastifyInstance, store: RecordStore): void {
  app.get<{ Params: { type: string } }>('/crm/v3/properties/:type', async (request) => {
    const type = objectTypeParam(request.params.type);
    return { results: store.propertyDefinitions(type).map(([name, definition]) => describe(type, name, definition)) };
  });
  app.get<{ Params: { type: string; name: string } }>('/crm/v3/properties/:type/:name', async (request) => {
    const type = objectTypeParam(request.params.type);
    const definition = store.property(type, request.params.name);
    // Wording UNCONFIRMED.
    if (!definition) throw new HubSpotError(404, errorBody(`Unable to find property with name ${request.params.name}`, 'OBJECT_NOT_FOUND'));
    return describe(type, request.params.name, definition);
  });
}
