export interface DemoGuideInput {
  /** The Web UI's workflow list filtered to the demo tenant, when there is a Web UI. */
  tenantWorkflowsUrl: string | undefined;
  temporalAddress: string;
  shimUrl: string;
  salesforceUrl: string;
  hubspotUrl: string;
  credentialsFile: string;
  salesforceConnectionId: string;
  hubspotConnectionId: string;
  /** A Salesforce contact id to edit by hand. */
  sampleContactId: string | undefined;
}

/** Where to look once the demo runs: URLs, commands to try, and how to make a change yourself. */
export function demoGuide(input: DemoGuideInput): string[] {
  const sf = input.salesforceConnectionId;
  const lines = [
    '',
    '== The demo is running: tenant "demo", Salesforce <-> HubSpot ==',
    '',
    input.tenantWorkflowsUrl
      ? `  Temporal Web UI (this tenant's syncs):  ${input.tenantWorkflowsUrl}`
      : `  Temporal (no Web UI: TEMPORAL_ADDRESS):  ${input.temporalAddress}, filter TenantId="demo"`,
    `  Webhook shim:                           ${input.shimUrl}  (POST /webhooks/:provider/:connectionId, GET /readyz)`,
    `  Salesforce sandbox:                     ${input.salesforceUrl}`,
    `  HubSpot sandbox:                        ${input.hubspotUrl}`,
    `  Sandbox URLs and credentials:           ${input.credentialsFile}`,
    '',
    '  Try the operator CLI:',
    `    npx crm-sync sync status ${sf}`,
    `    npx crm-sync sync status ${input.hubspotConnectionId}`,
    `    npx crm-sync backfill status ${sf} contact`,
    `    npx crm-sync parked list ${sf}`,
    `    npx crm-sync connection list --tenant demo`,
  ];
  if (input.sampleContactId) {
    lines.push(
      '',
      '  Edit a Salesforce contact as a person would (the webhook carries it to HubSpot):',
      `    curl -X PATCH ${input.salesforceUrl}/__sandbox/records/Contact/${input.sampleContactId} -H 'content-type: application/json' -d '{"Title":"CTO"}'`,
    );
  }
  lines.push('', '  Ctrl-C stops everything the demo started.', '');
  return lines;
}
