import { z } from 'zod';
import { ConfigError } from '../config';
import type { CrmProvider } from '../model/identifiers';

/**
 * The OAuth apps the operator registered once per vendor (client id, secret) and where crm-sync
 * is reachable for the callback, read from the environment by the CLI (`connection connect`) and
 * the shim (the callback). The secrets stay in the environment like CRM_SYNC_ENCRYPTION_KEYS: no
 * message here quotes a value. Vendor hosts have their production defaults; the *_URL variables
 * point them elsewhere (a sovereign cloud, the sandboxes).
 */

export const ZOHO_REGIONS = ['us', 'eu', 'in', 'au', 'jp', 'ca', 'cn'] as const;
export type ZohoRegion = (typeof ZOHO_REGIONS)[number];

/** Zoho's accounts server per data centre [Z34] (`location` of the consent redirect -> host). */
export const ZOHO_ACCOUNTS_SERVERS: Record<ZohoRegion, string> = {
  us: 'https://accounts.zoho.com',
  eu: 'https://accounts.zoho.eu',
  in: 'https://accounts.zoho.in',
  au: 'https://accounts.zoho.com.au',
  jp: 'https://accounts.zoho.jp',
  ca: 'https://accounts.zohocloud.ca',
  cn: 'https://accounts.zoho.com.cn',
};

export interface OAuthApp {
  clientId: string;
  clientSecret: string;
}

export interface OAuthApps {
  /** `<SHIM_PUBLIC_URL>/oauth/<provider>/callback` is each app's registered redirect URI. */
  publicUrl: string | undefined;
  salesforce?: OAuthApp & { loginUrl: string; scope: string };
  /**
   * `webhookApp`: the public app's id and the developer account's API key, with which crm-sync
   * sets the app's webhook target and subscriptions itself (HubSpot subscribes per app [H84]).
   */
  hubspot?: OAuthApp & { authorizeUrl: string; apiUrl: string; scope: string; webhookApp?: { appId: number; developerApiKey: string } | undefined };
  pipedrive?: OAuthApp & { oauthUrl: string };
  zoho?: OAuthApp & { accountsServers: Record<ZohoRegion, string>; scope: string };
  dynamics?: OAuthApp & { authorityHost: string };
}

const url = z
  .string()
  .url()
  .transform((value) => value.replace(/\/+$/, ''));

/** `us=https://…,eu=https://…`: Zoho accounts servers per data centre, over the defaults. */
const zohoServers = z.string().transform((raw, ctx) => {
  const servers = { ...ZOHO_ACCOUNTS_SERVERS };
  for (const entry of raw.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [region, server] = [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)];
    if (!(ZOHO_REGIONS as readonly string[]).includes(region) || !url.safeParse(server).success) {
      ctx.addIssue({ code: 'custom', message: `entry "${entry}" needs the form region=https://host with a region of ${ZOHO_REGIONS.join(', ')}` });
      return z.NEVER;
    }
    servers[region as ZohoRegion] = server.replace(/\/+$/, '');
  }
  return servers;
});

const optionalText = z.string().min(1).optional();

const schema = z.object({
  SHIM_PUBLIC_URL: url.optional(),
  CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID: optionalText,
  CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET: optionalText,
  CRM_SYNC_OAUTH_SALESFORCE_LOGIN_URL: url.default('https://login.salesforce.com'),
  CRM_SYNC_OAUTH_SALESFORCE_SCOPE: z.string().min(1).default('api refresh_token'),
  CRM_SYNC_OAUTH_HUBSPOT_CLIENT_ID: optionalText,
  CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET: optionalText,
  CRM_SYNC_OAUTH_HUBSPOT_AUTHORIZE_URL: url.default('https://app.hubspot.com/oauth/authorize'),
  CRM_SYNC_OAUTH_HUBSPOT_API_URL: url.default('https://api.hubapi.com'),
  CRM_SYNC_OAUTH_HUBSPOT_SCOPE: z
    .string()
    .min(1)
    .default('oauth crm.objects.contacts.read crm.objects.contacts.write crm.objects.companies.read crm.objects.companies.write crm.objects.deals.read crm.objects.deals.write'),
  CRM_SYNC_OAUTH_HUBSPOT_APP_ID: z.coerce.number().int().positive().optional(),
  CRM_SYNC_OAUTH_HUBSPOT_DEVELOPER_API_KEY: optionalText,
  CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_ID: optionalText,
  CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_SECRET: optionalText,
  CRM_SYNC_OAUTH_PIPEDRIVE_OAUTH_URL: url.default('https://oauth.pipedrive.com'),
  CRM_SYNC_OAUTH_ZOHO_CLIENT_ID: optionalText,
  CRM_SYNC_OAUTH_ZOHO_CLIENT_SECRET: optionalText,
  CRM_SYNC_OAUTH_ZOHO_ACCOUNTS_SERVERS: zohoServers.optional(),
  CRM_SYNC_OAUTH_ZOHO_SCOPE: z.string().min(1).default('ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.notifications.ALL'),
  CRM_SYNC_OAUTH_DYNAMICS_CLIENT_ID: optionalText,
  CRM_SYNC_OAUTH_DYNAMICS_CLIENT_SECRET: optionalText,
  CRM_SYNC_OAUTH_DYNAMICS_AUTHORITY_HOST: url.default('https://login.microsoftonline.com'),
});

type Env = z.output<typeof schema>;

/** Parses the OAuth apps from the environment; throws ConfigError naming each bad variable (never its value). */
export function loadOAuthApps(env: NodeJS.ProcessEnv = process.env): OAuthApps {
  const present = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
  const e = parsed.data;
  const problems: string[] = [];
  const app = (provider: string, id: string | undefined, secret: string | undefined): OAuthApp | undefined => {
    if (id === undefined && secret === undefined) return undefined;
    const prefix = `CRM_SYNC_OAUTH_${provider.toUpperCase()}`;
    if (id === undefined || secret === undefined) {
      problems.push(`${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET must be set together`);
      return undefined;
    }
    return { clientId: id, clientSecret: secret };
  };
  if ((e.CRM_SYNC_OAUTH_HUBSPOT_APP_ID === undefined) !== (e.CRM_SYNC_OAUTH_HUBSPOT_DEVELOPER_API_KEY === undefined)) {
    problems.push('CRM_SYNC_OAUTH_HUBSPOT_APP_ID and CRM_SYNC_OAUTH_HUBSPOT_DEVELOPER_API_KEY must be set together');
  }
  const apps = build(e, app);
  if (problems.length > 0) throw new ConfigError(problems);
  return apps;
}

function hubspotWebhookApp(e: Env): { appId: number; developerApiKey: string } | undefined {
  const appId = e.CRM_SYNC_OAUTH_HUBSPOT_APP_ID;
  const developerApiKey = e.CRM_SYNC_OAUTH_HUBSPOT_DEVELOPER_API_KEY;
  return appId !== undefined && developerApiKey !== undefined ? { appId, developerApiKey } : undefined;
}

function build(e: Env, app: (provider: string, id: string | undefined, secret: string | undefined) => OAuthApp | undefined): OAuthApps {
  const salesforce = app('salesforce', e.CRM_SYNC_OAUTH_SALESFORCE_CLIENT_ID, e.CRM_SYNC_OAUTH_SALESFORCE_CLIENT_SECRET);
  const hubspot = app('hubspot', e.CRM_SYNC_OAUTH_HUBSPOT_CLIENT_ID, e.CRM_SYNC_OAUTH_HUBSPOT_CLIENT_SECRET);
  const pipedrive = app('pipedrive', e.CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_ID, e.CRM_SYNC_OAUTH_PIPEDRIVE_CLIENT_SECRET);
  const zoho = app('zoho', e.CRM_SYNC_OAUTH_ZOHO_CLIENT_ID, e.CRM_SYNC_OAUTH_ZOHO_CLIENT_SECRET);
  const dynamics = app('dynamics', e.CRM_SYNC_OAUTH_DYNAMICS_CLIENT_ID, e.CRM_SYNC_OAUTH_DYNAMICS_CLIENT_SECRET);
  return {
    publicUrl: e.SHIM_PUBLIC_URL,
    ...(salesforce ? { salesforce: { ...salesforce, loginUrl: e.CRM_SYNC_OAUTH_SALESFORCE_LOGIN_URL, scope: e.CRM_SYNC_OAUTH_SALESFORCE_SCOPE } } : {}),
    ...(hubspot ? { hubspot: { ...hubspot, authorizeUrl: e.CRM_SYNC_OAUTH_HUBSPOT_AUTHORIZE_URL, apiUrl: e.CRM_SYNC_OAUTH_HUBSPOT_API_URL, scope: e.CRM_SYNC_OAUTH_HUBSPOT_SCOPE, webhookApp: hubspotWebhookApp(e) } } : {}),
    ...(pipedrive ? { pipedrive: { ...pipedrive, oauthUrl: e.CRM_SYNC_OAUTH_PIPEDRIVE_OAUTH_URL } } : {}),
    ...(zoho ? { zoho: { ...zoho, accountsServers: e.CRM_SYNC_OAUTH_ZOHO_ACCOUNTS_SERVERS ?? ZOHO_ACCOUNTS_SERVERS, scope: e.CRM_SYNC_OAUTH_ZOHO_SCOPE } } : {}),
    ...(dynamics ? { dynamics: { ...dynamics, authorityHost: e.CRM_SYNC_OAUTH_DYNAMICS_AUTHORITY_HOST } } : {}),
  };
}

/** The redirect URI registered for `provider`'s app: the shim's callback route. */
export function redirectUriFor(apps: OAuthApps, provider: CrmProvider): string | undefined {
  return apps.publicUrl === undefined ? undefined : `${apps.publicUrl}/oauth/${provider}/callback`;
}
