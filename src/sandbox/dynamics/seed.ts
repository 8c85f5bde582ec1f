import { FakeData } from '../core/fake-data';
import type { Row } from './store';

export type DynamicsEntitySetName = 'contacts' | 'accounts' | 'opportunities' | 'tasks' | 'phonecalls' | 'emails' | 'appointments' | 'activityparties' | 'connections' | 'connectionroles' | 'systemusers' | 'audits' | RegistrationSetName;

/** Webhook registration tables: listed and deleted by tests as an administrator would in the Plugin Registration Tool. */
export type RegistrationSetName = 'serviceendpoints' | 'sdkmessages' | 'sdkmessagefilters' | 'sdkmessageprocessingsteps' | 'sdkmessageprocessingstepimages';

/** Realistic column values for `index`-th seeded record of an entity set. */
export class SeedData {
  private readonly fake: FakeData;

  constructor(seed: number) {
    this.fake = new FakeData(seed);
  }

  values(entitySet: DynamicsEntitySetName, index: number): Row {
    switch (entitySet) {
      case 'contacts': {
        const person = this.fake.person(index);
        return { firstname: person.firstName, lastname: person.lastName, emailaddress1: person.email, telephone1: person.phone, jobtitle: person.title };
      }
      case 'accounts': {
        const company = this.fake.company(index);
        return { name: company.name, websiteurl: `https://${company.domain}`, address1_city: company.city, numberofemployees: 10 + ((index * 37) % 5000) };
      }
      case 'opportunities': {
        const deal = this.fake.deal(index);
        return { name: deal.name, estimatedvalue: deal.amount, estimatedclosedate: deal.closeDate, stepname: deal.stage };
      }
      case 'tasks': {
        const deal = this.fake.deal(index);
        return { subject: `Follow up: ${deal.name}`, description: `Call about ${deal.stage}`, scheduledend: `${deal.closeDate}T09:00:00.000Z`, prioritycode: index % 3 };
      }
      case 'phonecalls':
      case 'emails':
      case 'appointments': {
        const deal = this.fake.deal(index);
        return { subject: `${entitySet.slice(0, -1)}: ${deal.name}`, scheduledstart: `${deal.closeDate}T09:00:00.000Z`, scheduledend: `${deal.closeDate}T10:00:00.000Z`, prioritycode: index % 3 };
      }
      case 'activityparties':
      case 'connections':
      case 'connectionroles':
      case 'systemusers':
      case 'audits':
      case 'serviceendpoints':
      case 'sdkmessages':
      case 'sdkmessagefilters':
      case 'sdkmessageprocessingsteps':
      case 'sdkmessageprocessingstepimages':
        // Links between records and their roles are made explicitly (admin uiCreate), never invented.
        return {};
    }
  }
}
