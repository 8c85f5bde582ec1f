import { SANDBOX_SALES_USERS } from '../core/users';
import { SANDBOX_USER_ID } from './changelog';

/** A company user as `GET /v1/users` lists it [P36]. */
export interface PipedriveUser {
  id: number;
  name: string;
  email: string;
  active_flag: boolean;
  is_admin: number;
}

/** The API token's user (id 1, the default owner of what the API creates [P37]) and the shared sales users. */
export const PIPEDRIVE_USERS: readonly PipedriveUser[] = [
  { id: SANDBOX_USER_ID, name: 'Sandbox Admin', email: 'admin@crm-sync.sandbox', active_flag: true, is_admin: 1 },
  ...SANDBOX_SALES_USERS.map((user, index) => ({ id: 13_001 + index, name: `${user.firstName} ${user.lastName}`, email: user.email, active_flag: user.active, is_admin: 0 })),
];

/** Why an owner_id cannot own a record, or undefined when it can (message UNCONFIRMED [P38]). */
export function ownerProblem(id: number): string | undefined {
  const user = PIPEDRIVE_USERS.find((candidate) => candidate.id === id);
  if (!user) return `User with id ${id} does not exist`;
  return user.active_flag ? undefined : `User with id ${id} is not active`;
}
