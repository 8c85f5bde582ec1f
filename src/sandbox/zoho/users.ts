import { SANDBOX_SALES_USERS } from '../core/users';
import type { ZohoUser } from './store';

/** An organisation user as `GET /crm/v{n}/users` lists it (the fields crm-sync reads) [Z49]. */
export interface ZohoOrgUser {
  id: string;
  full_name: string;
  email: string;
  /** `active`, or `disabled` once deactivated (the value for a deactivated user is UNCONFIRMED [Z50]). */
  status: 'active' | 'disabled';
}

/** The API (integration) user every token acts as. */
export const ZOHO_API_USER: ZohoUser = { name: 'crm-sync integration', id: '5843104000000397001' };
/** The person whose UI edits the admin routes stand for. */
export const ZOHO_UI_USER: ZohoUser = { name: 'Patricia Boyle', id: '5843104000000397005' };

export const ZOHO_USERS: readonly ZohoOrgUser[] = [
  { id: ZOHO_API_USER.id, full_name: ZOHO_API_USER.name, email: 'integration@crm-sync.sandbox', status: 'active' },
  { id: ZOHO_UI_USER.id, full_name: ZOHO_UI_USER.name, email: 'patricia.boyle@crm-sync.sandbox', status: 'active' },
  ...SANDBOX_SALES_USERS.map((user, index) => ({
    id: String(5_843_104_000_000_398_001n + BigInt(index)),
    full_name: `${user.firstName} ${user.lastName}`,
    email: user.email,
    status: user.active ? ('active' as const) : ('disabled' as const),
  })),
];

/** `type` of the users list: all, the active ones, or the deactivated ones [Z49]. */
export function usersOfType(type: string | undefined): readonly ZohoOrgUser[] | undefined {
  switch (type ?? 'AllUsers') {
    case 'AllUsers':
      return ZOHO_USERS;
    case 'ActiveUsers':
      return ZOHO_USERS.filter((user) => user.status === 'active');
    case 'DeactiveUsers':
      return ZOHO_USERS.filter((user) => user.status !== 'active');
    default:
      return undefined;
  }
}

/** A record's `Owner` as Zoho renders it: `{name, id, email}` [Z51]. */
export function ownerOf(user: Pick<ZohoUser, 'id'>): { name: string; id: string; email: string } | undefined {
  const found = ZOHO_USERS.find((candidate) => candidate.id === user.id);
  return found ? { name: found.full_name, id: found.id, email: found.email } : undefined;
}
