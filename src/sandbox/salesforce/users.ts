import { SANDBOX_SALES_USERS } from '../core/users';
import type { IdGenerator } from './ids';
import type { RecordStore } from './store';

/**
 * The org's users: the integration user the API authenticates as (the default owner of what the
 * API creates [S118]), the admin who edits in the UI (admin routes), and the shared sales users.
 * Listed by SOQL (`SELECT Id, Email, IsActive FROM User`), as a real org lists them.
 */
export function seedUsers(store: RecordStore, ids: IdGenerator, org: { apiUserId: string; uiUserId: string; apiUsername: string }): void {
  const add = (id: string, firstName: string, lastName: string, email: string, username: string, active: boolean): void => {
    store.seedUser(id, { Username: username, Email: email, FirstName: firstName, LastName: lastName, Name: `${firstName} ${lastName}`, IsActive: active }, org.apiUserId);
  };
  add(org.apiUserId, 'Integration', 'User', org.apiUsername, org.apiUsername, true);
  add(org.uiUserId, 'Sandbox', 'Admin', 'admin@crm-sync.sandbox', 'admin@crm-sync.sandbox', true);
  for (const user of SANDBOX_SALES_USERS) add(ids.generate('005'), user.firstName, user.lastName, user.email, user.email, user.active);
}
