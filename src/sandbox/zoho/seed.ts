import type { FakeData } from '../core/fake-data';
import type { ZohoModule } from './modules';

/** Zoho's default deal stages, matched to the core's stage names. */
const DEAL_STAGES: Record<string, string> = {
  prospecting: 'Qualification',
  qualification: 'Needs Analysis',
  proposal: 'Proposal/Price Quote',
  negotiation: 'Negotiation/Review',
  'closed-won': 'Closed Won',
  'closed-lost': 'Closed Lost',
};

/** Realistic values for the `index`-th seeded record of a module. */
export function fakeValues(fake: FakeData, module: ZohoModule, index: number): Record<string, unknown> {
  switch (module) {
    case 'Contacts': {
      const person = fake.person(index);
      return { First_Name: person.firstName, Last_Name: person.lastName, Email: person.email, Phone: person.phone, Title: person.title };
    }
    case 'Accounts': {
      const company = fake.company(index);
      return { Account_Name: company.name, Website: `https://www.${company.domain}`, Industry: company.industry, Billing_City: company.city };
    }
    case 'Deals': {
      const deal = fake.deal(index);
      return { Deal_Name: deal.name, Amount: deal.amount, Stage: DEAL_STAGES[deal.stage] ?? 'Qualification', Closing_Date: deal.closeDate };
    }
    case 'Tasks': {
      const person = fake.person(index);
      return {
        Subject: `Follow up with ${person.firstName} ${person.lastName}`,
        Description: `Call ${person.phone} about next steps.`,
        Status: index % 3 === 0 ? 'Completed' : 'Not Started',
        Priority: ['Low', 'Normal', 'High'][index % 3] ?? 'Normal',
        Due_Date: new Date(Date.UTC(2026, 0, 1) + index * 86_400_000).toISOString().slice(0, 10),
      };
    }
  }
}
