import { z } from 'zod';
import { slugSchema } from '../identifiers';
import { policyKeyOf } from './reference-fields';

/**
 * Per-field conflict policies (architecture §4), as data a tenant configures per object:
 * - `owner`: one connection is the source of truth for the field; the others never overwrite it.
 * - `latest`: the most recent modification wins; `priority` (connection ids, first wins) breaks ties.
 * - `fill-empty`: a value is written only where the target has none; nothing is ever overwritten.
 */
export const conflictPolicySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('owner'), connectionId: slugSchema }).strict(),
  z.object({ kind: z.literal('latest'), priority: z.array(slugSchema).default([]) }).strict(),
  z.object({ kind: z.literal('fill-empty') }).strict(),
]);

export const objectConflictPoliciesSchema = z
  .object({
    default: conflictPolicySchema.default({ kind: 'latest', priority: [] }),
    /** By canonical field path, e.g. `email`, `custom.tier`, or association slot (`@company`, `@contacts`). */
    fields: z.record(z.string(), conflictPolicySchema).default({}),
  })
  .strict();

export type ConflictPolicy = z.output<typeof conflictPolicySchema>;
export type ObjectConflictPolicies = z.output<typeof objectConflictPoliciesSchema>;

export function policyFor(policies: ObjectConflictPolicies, field: string): ConflictPolicy {
  return policies.fields[field] ?? policies.fields[policyKeyOf(field)] ?? policies.default;
}
