import type { CrmProvider } from '../../model/identifiers';
import type { ConsentFlow } from '../consent-flow';
import type { OAuthApps } from '../oauth-apps';
import { dynamicsConsent } from './dynamics';
import { hubspotConsent } from './hubspot';
import { pipedriveConsent } from './pipedrive';
import { salesforceConsent } from './salesforce';
import { zohoConsent } from './zoho';

/** The consent flow of a provider whose OAuth app the operator configured, else undefined. */
export function consentFlowFor(apps: OAuthApps, provider: CrmProvider): ConsentFlow | undefined {
  switch (provider) {
    case 'salesforce':
      return apps.salesforce && salesforceConsent(apps.salesforce);
    case 'hubspot':
      return apps.hubspot && hubspotConsent(apps.hubspot);
    case 'pipedrive':
      return apps.pipedrive && pipedriveConsent(apps.pipedrive);
    case 'zoho':
      return apps.zoho && zohoConsent(apps.zoho);
    case 'dynamics':
      return apps.dynamics && dynamicsConsent(apps.dynamics);
  }
}
