import type { ObjectType } from '../../model/identifiers';
import type { ErrorRule } from '../errors';
import type { RateWindowPolicy } from '../rate-budget';

/**
 * Everything about Dataverse the connector treats as data: the pinned API version, paging and
 * batch limits, the entity sets behind each canonical object, the rate windows and the error
 * rules. Behaviour that does not fit here is in the verb files, with the reason in BEHAVIOR.md.
 */

/** The one place the Web API version is pinned. */
export const DATAVERSE_API_VERSION = 'v9.2';

/** A lookup column and the navigation property that writes it (`<nav>@odata.bind`). */
export interface LookupSpec {
  /** Read side: the `_x_value` column holding the related row's GUID. */
  column: string;
  /** Write side: the single-valued navigation property to bind. */
  navigation: string;
  /** Entity set of the related row, for `/accounts(<id>)` binds. */
  targetSet: string;
}

/**
 * A polymorphic lookup holding one of several slots: task `regardingobjectid` points at an account
 * (company) or an opportunity (deal), told apart by `@Microsoft.Dynamics.CRM.lookuplogicalname`.
 */
export interface RegardingSpec {
  column: string;
  /** Slot -> the table it points at and the navigation property that binds it; first wins a tie. */
  slots: readonly { slot: string; logicalName: string; navigation: string; targetSet: string }[];
}

/** A many slot held by connection rows: record1 = this record, record2 = the related one, in a role. */
export interface ConnectionSlotSpec {
  slot: string;
  /** Connection role looked up by name once per connector (Dynamics 365 Sales: "Stakeholder"). */
  roleName: string;
  /** record1id navigation for this table, record2id navigation and set of the related table. */
  record1Navigation: string;
  record2Navigation: string;
  record2Set: string;
  /** `record1objecttypecode` of this table (3 = opportunity) and `record2objecttypecode` of the related one (2 = contact) [D31]. */
  record1TypeCode: number;
  record2TypeCode: number;
  /** Record ids per `Microsoft.Dynamics.CRM.In` query: keeps the URL well under the server's limit. */
  chunk: number;
}

export interface EntitySpec {
  /** Entity set (collection) name in URLs, e.g. `contacts`. */
  entitySet: string;
  /** Table (logical) name, e.g. `contact`, for metadata calls. */
  logicalName: string;
  primaryId: string;
  /** Reference slot (architecture's canonical slots) -> lookup. Slots Dataverse cannot hold are absent. */
  lookups: Readonly<Record<string, LookupSpec>>;
  regarding?: RegardingSpec | undefined;
  connections?: ConnectionSlotSpec | undefined;
}

export interface DynamicsSpec {
  provider: 'dynamics';
  apiVersion: string;
  paging: {
    /** `Prefer: odata.maxpagesize` above this is clamped by the server [D10]. */
    maxPageSize: number;
    defaultPageSize: number;
  };
  batch: {
    /** At most 1,000 requests per `$batch` [D12]. */
    maxRequests: number;
    /** GUIDs per `$filter=id eq a or id eq b...` read (keeps URLs well under server limits). */
    readChunk: number;
  };
  /** Alternate key column holding the canonical sync id on every entity set (solution column). */
  syncIdColumn: string;
  /** Columns read on every row besides the mapped ones. */
  systemColumns: { modifiedOn: string; version: string; modifiedBy: string };
  objects: Readonly<Record<ObjectType, EntitySpec>>;
  rateWindows: readonly RateWindowPolicy[];
  /** Usage headers fed to RateBudget.observe() after each admitted response [D14]. */
  rateHeaders: { requestsRemaining: string; windowName: string };
  /** Tried in order, before the shared status fallbacks of classifyHttpFailure. */
  errorRules: readonly ErrorRule[];
  /** `Version stamp associated with the client has expired` [D11]: restart change tracking. */
  expiredDeltaTokenCode: string;
}

export const dynamicsSpec: DynamicsSpec = {
  provider: 'dynamics',
  apiVersion: DATAVERSE_API_VERSION,
  paging: { maxPageSize: 5000, defaultPageSize: 5000 },
  batch: { maxRequests: 1000, readChunk: 50 },
  syncIdColumn: 'crm_syncid',
  systemColumns: { modifiedOn: 'modifiedon', version: 'versionnumber', modifiedBy: '_modifiedby_value' },
  objects: {
    contact: {
      entitySet: 'contacts',
      logicalName: 'contact',
      primaryId: 'contactid',
      lookups: { company: { column: '_parentcustomerid_value', navigation: 'parentcustomerid_account', targetSet: 'accounts' } },
    },
    company: { entitySet: 'accounts', logicalName: 'account', primaryId: 'accountid', lookups: {} },
    deal: {
      entitySet: 'opportunities',
      logicalName: 'opportunity',
      primaryId: 'opportunityid',
      // parentaccountid is the form's Account, account-only; customerid (account or contact) is not read [D36].
      lookups: {
        company: { column: '_parentaccountid_value', navigation: 'parentaccountid', targetSet: 'accounts' },
        primaryContact: { column: '_parentcontactid_value', navigation: 'parentcontactid', targetSet: 'contacts' },
      },
      connections: {
        slot: 'contacts',
        roleName: 'Stakeholder',
        record1Navigation: 'record1id_opportunity',
        record2Navigation: 'record2id_contact',
        record2Set: 'contacts',
        record1TypeCode: 3,
        record2TypeCode: 2,
        chunk: 250,
      },
    },
    activity: {
      entitySet: 'tasks',
      logicalName: 'task',
      primaryId: 'activityid',
      lookups: {},
      // One polymorphic lookup, two slots: a deal given with a company wins (see BEHAVIOR.md).
      // A task has no activity parties besides owner and regarding, so it holds no contacts [D37].
      regarding: {
        column: '_regardingobjectid_value',
        slots: [
          { slot: 'deal', logicalName: 'opportunity', navigation: 'regardingobjectid_opportunity_task', targetSet: 'opportunities' },
          { slot: 'company', logicalName: 'account', navigation: 'regardingobjectid_account_task', targetSet: 'accounts' },
        ],
      },
    },
  },
  // Service protection: 6,000 requests per user per 5-minute sliding window [D14].
  rateWindows: [{ name: 'service-protection', limit: 6000, windowMs: 300_000 }],
  rateHeaders: { requestsRemaining: 'x-ms-ratelimit-burst-remaining-xrm-requests', windowName: 'service-protection' },
  errorRules: [
    // Service protection: requests, execution time, concurrency [D14].
    { vendorCodes: ['0x80072322', '0x80072321', '0x80072326'], errorClass: 'rate-limited' },
    { status: [429], errorClass: 'rate-limited' },
    { status: [401], errorClass: 'auth' },
    // "<entity> With Id = <id> Does Not Exist" / unknown segment [D6][D9].
    { vendorCodes: ['0x80040217', '0x8006088a'], errorClass: 'not-found' },
    // Duplicate alternate key, stale row version [D8].
    { vendorCodes: ['0x80040237', '0x80060882'], errorClass: 'conflict' },
    { vendorCodes: ['0x80060888'], errorClass: 'validation' },
    // 0x80040216 "An unexpected error occurred." is a server fault whatever the status.
    { vendorCodes: ['0x80040216'], errorClass: 'transient' },
  ],
  expiredDeltaTokenCode: '0x80044352',
};
