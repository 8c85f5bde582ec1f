import type { FakeData } from '../core/fake-data';
import type { HubSpotObjectType } from './schema';

/** HubSpot's default sales pipeline stage ids, matched to the core's stage names. */
const DEAL_STAGES: Record<string, string> = {
  prospecting: 'appointmentscheduled',
  qualification: 'qualifiedtobuy',
  proposal: 'presentationscheduled',
  negotiation: 'decisionmakerboughtin',
  'closed-won': 'closedwon',
  'closed-lost': 'closedlost',
};

/** Realistic properties for the `index`-th seeded record of a type. */
export function fakeProperties(fake: FakeData, type: HubSpotObjectType, index: number): Record<string, string> {
  switch (type) {
    case 'contacts': {
      const person = fake.person(index);
      return { firstname: person.firstName, lastname: person.lastName, email: person.email, phone: person.phone, jobtitle: person.title, lifecyclestage: 'lead' };
    }
    case 'companies': {
      const company = fake.company(index);
      return { name: company.name, domain: company.domain, industry: company.industry, city: company.city };
    }
    case 'deals': {
      const deal = fake.deal(index);
      return { dealname: deal.name, amount: String(deal.amount), dealstage: DEAL_STAGES[deal.stage] ?? 'appointmentscheduled', pipeline: 'default', closedate: `${deal.closeDate}T00:00:00.000Z` };
    }
    case 'tasks': {
      const person = fake.person(index);
      return {
        hs_task_subject: `Follow up with ${person.firstName} ${person.lastName}`,
        hs_task_body: `Call ${person.phone} about next steps.`,
        hs_task_status: index % 3 === 0 ? 'COMPLETED' : 'NOT_STARTED',
        hs_task_priority: ['LOW', 'MEDIUM', 'HIGH'][index % 3] ?? 'MEDIUM',
        hs_task_type: 'TODO',
        hs_timestamp: new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString(),
      };
    }
    case 'calls': {
      const person = fake.person(index);
      return { hs_call_title: `Call with ${person.firstName} ${person.lastName}`, hs_call_body: `Dialled ${person.phone}.`, hs_call_status: 'COMPLETED', hs_call_direction: 'OUTBOUND', hs_timestamp: activityTime(index) };
    }
    case 'emails': {
      const person = fake.person(index);
      return { hs_email_subject: `Hello ${person.firstName}`, hs_email_text: 'Following up on our call.', hs_email_status: 'SENT', hs_email_direction: 'EMAIL', hs_timestamp: activityTime(index) };
    }
    case 'meetings': {
      const person = fake.person(index);
      const start = activityTime(index);
      return { hs_meeting_title: `Meeting with ${person.firstName}`, hs_meeting_body: 'Agenda: next steps.', hs_meeting_start_time: start, hs_meeting_end_time: new Date(Date.parse(start) + 1_800_000).toISOString(), hs_meeting_outcome: 'SCHEDULED', hs_timestamp: start };
    }
  }
}

function activityTime(index: number): string {
  return new Date(Date.UTC(2026, 0, 1) + index * 3_600_000).toISOString();
}
