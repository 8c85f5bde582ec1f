import { createHash } from 'node:crypto';
import { SANDBOX_SALES_USERS } from '../core/users';
import { ENTITY_SETS, type EntitySetDefinition } from './entity-sets';
import type { DataverseStore } from './store';

/** A stable guid per email, so every sandbox gives a person the same systemuserid (Dataverse's own are random). */
function guidOf(email: string): string {
  const hex = createHash('sha256').update(`systemuser:${email}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The organisation's users: the application user behind the client credentials (it owns what the
 * API creates), the person whose UI edits the admin API simulates, and the shared sales users.
 */
export function seedSystemUsers(store: DataverseStore, users: { applicationUserId: string; uiUserId: string }): void {
  const set = ENTITY_SETS.systemusers as EntitySetDefinition;
  const add = (id: string, firstname: string, lastname: string, email: string, active: boolean): void => {
    store.create(set, { systemuserid: id, firstname, lastname, fullname: `${firstname} ${lastname}`, internalemailaddress: email, domainname: email, isdisabled: !active }, { userId: users.applicationUserId });
  };
  add(users.applicationUserId, '# crm-sync', 'application', 'crm-sync-app@crm-sync.sandbox', true);
  add(users.uiUserId, 'Sandbox', 'Admin', 'admin@crm-sync.sandbox', true);
  for (const user of SANDBOX_SALES_USERS) add(guidOf(user.email), user.firstName, user.lastName, user.email, user.active);
}
