import type { HubSpotSandbox } from '../sandbox/hubspot';
import type { SalesforceSandbox } from '../sandbox/salesforce';

export interface LiveEdit {
  /** What a person did in Salesforce, for the log (ids and field names only, never values). */
  description: string;
  /** True once HubSpot holds the change. */
  arrived(): boolean;
}

/**
 * Edits Salesforce as a person in its UI would, so the sandbox sends its Outbound Messages: a new
 * title on an existing contact, and a new contact. Both must reach HubSpot through the shim
 * and the connection workflows, with no polling involved (the poll interval is a minute).
 */
export function makeLiveEdits(salesforce: SalesforceSandbox, hubspot: HubSpotSandbox): LiveEdit[] {
  const hubspotContact = (email: string) => hubspot.admin.listRecords('contacts').find((record) => String(record.properties.email ?? '').toLowerCase() === email.toLowerCase());
  const [existing] = salesforce.admin.listRecords('Contact').filter((record) => typeof record.Email === 'string');
  const edits: LiveEdit[] = [];

  if (existing) {
    const title = `Head of Demos ${new Date().toISOString().slice(11, 19)}`;
    const email = String(existing.Email);
    salesforce.admin.editAsUser('Contact', String(existing.Id), { Title: title });
    edits.push({ description: `Contact ${String(existing.Id)}: Title edited`, arrived: () => hubspotContact(email)?.properties.jobtitle === title });
  }

  const email = `grace.hopper.${Date.now()}@demo.example`;
  const created = salesforce.admin.createAsUser('Contact', { FirstName: 'Grace', LastName: 'Hopper', Email: email, Title: 'Rear Admiral' });
  edits.push({ description: `Contact ${String(created.Id)}: created`, arrived: () => hubspotContact(email) !== undefined });
  return edits;
}

/** Resolves once every edit arrived; rejects after `timeoutMs` naming the ones that did not. */
export async function waitForLiveEdits(edits: readonly LiveEdit[], timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    const missing = edits.filter((edit) => !edit.arrived());
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not in HubSpot after ${timeoutMs / 1000} s: ${missing.map((edit) => edit.description).join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
