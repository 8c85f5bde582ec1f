import { z } from 'zod';

/** What continue-as-new carries of the webhook renewal timer (webhook-renewal.ts). */
export const webhookRenewalCarriedSchema = z.object({
  /** When the connection's earliest-lapsing subscription lapses (vendor's word, ISO); null: none lapses. */
  expiresAt: z.string().nullable(),
  /** When this workflow renews it (workflow time, ISO). */
  renewAt: z.string().nullable(),
  renewals: z.number().int().default(0),
  lastError: z.string().nullable().default(null),
});

export type WebhookRenewalCarried = z.output<typeof webhookRenewalCarriedSchema>;
