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
    case 'Calls': {
      const person = fake.person(index);
      const start = new Date(Date.UTC(2026, 0, 1, 9) + index * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
      return { Subject: `Call ${person.firstName} ${person.lastName}`, Call_Type: 'Outbound', Call_Start_Time: start, Call_Duration: '05:00' };
    }
    case 'Events': {
      const person = fake.person(index);
      const start = Date.UTC(2026, 0, 1, 14) + index * 86_400_000;
      const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
      return { Event_Title: `Meeting with ${person.firstName} ${person.lastName}`, Start_DateTime: iso(start), End_DateTime: iso(start + 3_600_000) };
    }
  }
}
