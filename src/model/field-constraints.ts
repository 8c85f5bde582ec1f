/**
 * What a target CRM says a written value must fit, in one vendor-neutral shape (each connector
 * reads it from the vendor's own schema: Salesforce describe, Dataverse attribute metadata,
 * HubSpot property definitions, Zoho field metadata, Pipedrive field definitions), and the one check every write goes through before it leaves.
 * A value that cannot fit is never cut silently: the record is parked with a message naming the
 * field, the limit and the record, unless the tenant's mapping chose `truncate` or `skip` for
 * that field.
 */

export interface FieldConstraint {
  /** The vendor's field name, e.g. `LastName`, `lastname`. */
  name: string;
  /** Longest text the field holds, in the vendor's characters (UTF-16 code units). */
  maxLength?: number | undefined;
  /** A create must give it a non-empty value. */
  requiredOnCreate?: boolean | undefined;
  /** The only values the vendor accepts (a restricted picklist or an enumeration). */
  allowedValues?: readonly string[] | undefined;
}

export interface ObjectConstraints {
  /** The vendor, as messages name it: `Salesforce`, `HubSpot`, `Dynamics 365`. */
  vendor: string;
  /** The vendor's object: `Contact`, `contacts`, `contact`. */
  object: string;
  fields: readonly FieldConstraint[];
}

/**
 * What the tenant chose for a field whose value breaks a constraint: `park` the record (the
 * default), `truncate` a text too long to the field's length (other breaches still park), or
 * `skip` the field in this write (the rest of the record lands). A missing required value parks
 * whatever the choice: leaving the field out cannot create the record.
 */
export const violationPolicies = ['park', 'truncate', 'skip'] as const;
export type ViolationPolicy = (typeof violationPolicies)[number];

export type ViolationKind = 'too-long' | 'required' | 'not-allowed';

export interface Violation {
  field: string;
  kind: ViolationKind;
  message: string;
}

export interface Adjustment {
  field: string;
  kind: Exclude<ViolationKind, 'required'>;
  action: 'truncated' | 'skipped';
  message: string;
}

export interface ConstraintCheck {
  /** The values to write: adjusted as the tenant chose (a truncated value, a skipped field left out). */
  values: Record<string, unknown>;
  /** Breaches that park the record; empty when it may be written. */
  violations: Violation[];
  /** What was cut or left out by the tenant's choice, for the operator. */
  adjustments: Adjustment[];
}

export interface CheckOptions {
  /** A create: required fields must be given. An update leaves absent fields as they are. */
  creating: boolean;
  /** How messages name the record, e.g. `contact 7c9e…`. */
  record: string;
  /** Per vendor field; absent = `park`. */
  policies?: Readonly<Record<string, ViolationPolicy>> | undefined;
}

/**
 * Checks the vendor values of one write against the target's constraints. Fields without a
 * constraint pass as they are; a value of null clears a field and only breaks `required`.
 */
export function checkWrite(constraints: ObjectConstraints, values: Readonly<Record<string, unknown>>, options: CheckOptions): ConstraintCheck {
  const out: Record<string, unknown> = { ...values };
  const violations: Violation[] = [];
  const adjustments: Adjustment[] = [];
  const where = (field: string) => `${constraints.vendor} ${constraints.object}.${field}`;
  const suffix = ` (${options.record})`;

  for (const constraint of constraints.fields) {
    const { name } = constraint;
    const present = Object.prototype.hasOwnProperty.call(values, name);
    const value = values[name];
    const policy = options.policies?.[name] ?? 'park';

    if (constraint.requiredOnCreate && (present ? isEmpty(value) : options.creating)) {
      const message = present ? `${name}: empty, but ${where(name)} is required${suffix}` : `${name}: missing, but ${where(name)} is required to create a record${suffix}`;
      violations.push({ field: name, kind: 'required', message });
      continue;
    }
    if (!present) continue;

    if (typeof value === 'string' && constraint.maxLength !== undefined && value.length > constraint.maxLength) {
      const message = `${name}: ${value.length} characters, ${where(name)} holds ${constraint.maxLength}${suffix}`;
      if (policy === 'truncate') {
        out[name] = cut(value, constraint.maxLength);
        adjustments.push({ field: name, kind: 'too-long', action: 'truncated', message });
      } else if (policy === 'skip') {
        delete out[name];
        adjustments.push({ field: name, kind: 'too-long', action: 'skipped', message });
      } else {
        violations.push({ field: name, kind: 'too-long', message });
      }
      continue;
    }
    // A choice held as a number (Dataverse option values) is compared as its text.
    const choice = typeof value === 'number' ? String(value) : typeof value === 'string' && value !== '' ? value : undefined;
    if (choice !== undefined && constraint.allowedValues && !constraint.allowedValues.includes(choice)) {
      const shown = typeof value === 'number' ? choice : `"${choice}"`;
      const message = `${name}: ${shown} is not one of the values ${where(name)} accepts (${constraint.allowedValues.join(', ')})${suffix}`;
      if (policy === 'skip') {
        delete out[name];
        adjustments.push({ field: name, kind: 'not-allowed', action: 'skipped', message });
      } else {
        violations.push({ field: name, kind: 'not-allowed', message });
      }
    }
  }
  return { values: out, violations, adjustments };
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === '';
}

/** Cut to `length` code units, never through a surrogate pair (half a character is not text). */
function cut(value: string, length: number): string {
  const head = value.slice(0, length);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}
