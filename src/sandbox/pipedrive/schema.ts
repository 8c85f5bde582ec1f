/**
 * Pipedrive's v2 entities as the sandbox serves them. Source keys [Pn] refer to
 * docs/vendor-facts.md §4a.
 */

export const ENTITIES = ['persons', 'organizations', 'deals', 'activities'] as const;
export type PipedriveEntity = (typeof ENTITIES)[number];

/** The singular name webhooks (`meta.entity`, `event_object`) and field endpoints use [P4]. */
export const SINGULAR: Record<PipedriveEntity, string> = {
  persons: 'person',
  organizations: 'organization',
  deals: 'deal',
  activities: 'activity',
};

export function entityOf(segment: string): PipedriveEntity | undefined {
  return (ENTITIES as readonly string[]).includes(segment) ? (segment as PipedriveEntity) : undefined;
}

export function entityOfSingular(singular: string): PipedriveEntity | undefined {
  return ENTITIES.find((entity) => SINGULAR[entity] === singular);
}

export type FieldKind = 'varchar' | 'text' | 'double' | 'int' | 'date' | 'time' | 'boolean' | 'enum' | 'org' | 'person' | 'deal' | 'user' | 'visible_to' | 'emails' | 'phones' | 'status' | 'address' | 'participants';

/** The standard v2 fields the sandbox accepts on write, per entity (anything else is a 400). */
export const STANDARD_FIELDS: Record<PipedriveEntity, Record<string, FieldKind>> = {
  persons: { name: 'varchar', first_name: 'varchar', last_name: 'varchar', emails: 'emails', phones: 'phones', job_title: 'varchar', org_id: 'org', owner_id: 'user', visible_to: 'visible_to' },
  organizations: { name: 'varchar', address: 'address', industry: 'varchar', website: 'varchar', owner_id: 'user', visible_to: 'visible_to' },
  deals: {
    title: 'varchar',
    value: 'double',
    currency: 'varchar',
    stage_id: 'int',
    pipeline_id: 'int',
    status: 'status',
    expected_close_date: 'date',
    probability: 'double',
    org_id: 'org',
    person_id: 'person',
    owner_id: 'user',
    visible_to: 'visible_to',
  },
  activities: {
    subject: 'varchar',
    type: 'varchar',
    due_date: 'date',
    due_time: 'time',
    duration: 'time',
    done: 'boolean',
    note: 'text',
    priority: 'int',
    // v2 sets an activity's person through its primary participant; `person_id` is read-only [P17].
    participants: 'participants',
    org_id: 'org',
    deal_id: 'deal',
    owner_id: 'user',
  },
};

/**
 * Fields v2 answers but refuses on write, with the message Pipedrive gives (code `ERR_BAD_REQUEST`) [P17].
 */
export const READ_ONLY: Partial<Record<PipedriveEntity, Record<string, string>>> = {
  activities: { person_id: "'person_id' is a read-only field. Add a primary participant to set 'person_id' instead." },
};

/**
 * Longest text per field type, as Pipedrive's field type descriptions give them [P7]: `varchar`
 * "Text (up to 255 characters)", `text` "Long text (up to 65k characters)" (taken as 65,535:
 * UNCONFIRMED). The field definitions carry no length; the type implies it.
 */
export const MAX_LENGTH: Partial<Record<FieldKind, number>> = { varchar: 255, text: 65_535 };

/**
 * The field a v2 create cannot do without: the request bodies' required parameters [P9] (an
 * organization's `name`, a deal's `title`). A person's `name` and an activity's `subject` are
 * optional there, so a nameless person or a subjectless activity is created.
 */
export const REQUIRED_ON_CREATE: Partial<Record<PipedriveEntity, string>> = { organizations: 'name', deals: 'title' };

/**
 * The field the field list marks `mandatory_flag` [P7]: the one Pipedrive's web UI asks for
 * (required-field settings are a web UI matter [P9]); the API does not enforce it for persons and
 * activities. That the standard fields are flagged so is UNCONFIRMED.
 */
export const MANDATORY_IN_UI: Record<PipedriveEntity, string> = { persons: 'name', organizations: 'name', deals: 'title', activities: 'subject' };

/** Custom field types Pipedrive's search endpoints can search in [P1] (`fields=custom_fields`). */
export const SEARCHABLE_CUSTOM_KINDS: ReadonlySet<FieldKind> = new Set(['varchar', 'text', 'double']);

/** Entities with a v2 search endpoint (`/api/v2/{entity}/search`) [P1]; activities have none. */
export const SEARCHABLE: Record<PipedriveEntity, readonly string[] | undefined> = {
  persons: ['custom_fields', 'email', 'notes', 'phone', 'name'],
  organizations: ['address', 'custom_fields', 'notes', 'name'],
  deals: ['custom_fields', 'notes', 'title'],
  activities: undefined,
};

/** The default pipeline's stages (ids as a new company gets them). */
export const DEFAULT_STAGES = [
  { id: 1, name: 'Qualified' },
  { id: 2, name: 'Contact Made' },
  { id: 3, name: 'Demo Scheduled' },
  { id: 4, name: 'Proposal Made' },
  { id: 5, name: 'Negotiations Started' },
] as const;
