import { FakeData, type FakeDeal } from '../core/fake-data';
import type { FieldValue } from './records';
import type { SObjectType } from './schema';

export type SeedCounts = Partial<Record<'contacts' | 'companies' | 'deals' | 'activities', number>>;

const STAGES: Record<FakeDeal['stage'], string> = {
  prospecting: 'Prospecting',
  qualification: 'Qualification',
  proposal: 'Proposal/Price Quote',
  negotiation: 'Negotiation/Review',
  'closed-won': 'Closed Won',
  'closed-lost': 'Closed Lost',
};

const TASK_SUBJECTS = ['Call', 'Send Letter', 'Send Quote', 'Email', 'Follow up'];

/** Realistic field values per object, from the shared FakeData, numbered so emails stay unique. */
export class SalesforceSeeder {
  private readonly fake: FakeData;
  private index = 0;

  constructor(seed: number) {
    this.fake = new FakeData(seed);
  }

  *records(counts: SeedCounts, accountIds: () => string[]): Generator<{ type: SObjectType; values: Record<string, FieldValue> }> {
    for (let i = 0; i < (counts.companies ?? 0); i += 1) {
      const company = this.fake.company(this.index++);
      yield { type: 'Account', values: { Name: company.name, Website: company.domain, Industry: company.industry, BillingCity: company.city } };
    }
    for (let i = 0; i < (counts.contacts ?? 0); i += 1) {
      const person = this.fake.person(this.index++);
      const accounts = accountIds();
      yield {
        type: 'Contact',
        values: {
          FirstName: person.firstName,
          LastName: person.lastName,
          Email: person.email,
          Phone: person.phone,
          Title: person.title,
          ...(accounts.length > 0 ? { AccountId: accounts[i % accounts.length] as string } : {}),
        },
      };
    }
    for (let i = 0; i < (counts.deals ?? 0); i += 1) {
      const deal = this.fake.deal(this.index++);
      const accounts = accountIds();
      yield {
        type: 'Opportunity',
        values: {
          Name: deal.name,
          Amount: deal.amount,
          StageName: STAGES[deal.stage],
          CloseDate: deal.closeDate,
          ...(accounts.length > 0 ? { AccountId: accounts[i % accounts.length] as string } : {}),
        },
      };
    }
    for (let i = 0; i < (counts.activities ?? 0); i += 1) {
      const n = this.index++;
      yield {
        type: 'Task',
        values: { Subject: `${TASK_SUBJECTS[n % TASK_SUBJECTS.length]} #${n}`, Status: n % 3 === 0 ? 'Completed' : 'Not Started', Priority: 'Normal' },
      };
    }
  }
}
