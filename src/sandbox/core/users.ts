/**
 * The sales users every sandbox seeds besides its API (integration) user, so one person has an
 * account in each CRM under the same email, as in a company that uses several: each vendor gives
 * them its own ids, which a connection's owner map names. One of them has left (deactivated), so
 * each sandbox can refuse an inactive owner the way its vendor does.
 */
export interface SandboxUser {
  firstName: string;
  lastName: string;
  email: string;
  active: boolean;
}

export const SANDBOX_SALES_USERS: readonly SandboxUser[] = [
  { firstName: 'Ada', lastName: 'Lovelace', email: 'ada.lovelace@crm-sync.example', active: true },
  { firstName: 'Grace', lastName: 'Hopper', email: 'grace.hopper@crm-sync.example', active: true },
  { firstName: 'Alan', lastName: 'Turing', email: 'alan.turing@crm-sync.example', active: true },
  { firstName: 'Former', lastName: 'Employee', email: 'former.employee@crm-sync.example', active: false },
];
