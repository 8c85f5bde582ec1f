import { en, Faker } from '@faker-js/faker';

/** Realistic people and companies for seeding, reproducible from a seed. */
export interface FakePerson {
  firstName: string;
  lastName: string;
  email: string;
  phone: string;
  title: string;
}

export interface FakeCompany {
  name: string;
  domain: string;
  industry: string;
  city: string;
}

export interface FakeDeal {
  name: string;
  amount: number;
  stage: 'prospecting' | 'qualification' | 'proposal' | 'negotiation' | 'closed-won' | 'closed-lost';
  closeDate: string;
}

export class FakeData {
  private readonly faker: Faker;

  constructor(seed = 42) {
    this.faker = new Faker({ locale: [en] });
    this.faker.seed(seed);
  }

  /** `index` makes the email unique across a seeded set (vendors enforce unique keys on it). */
  person(index: number): FakePerson {
    const firstName = this.faker.person.firstName();
    const lastName = this.faker.person.lastName();
    return {
      firstName,
      lastName,
      email: `${firstName}.${lastName}.${index}@${this.faker.internet.domainName()}`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
      phone: this.faker.phone.number({ style: 'international' }),
      title: this.faker.person.jobTitle(),
    };
  }

  company(index: number): FakeCompany {
    const name = this.faker.company.name();
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    return { name, domain: `${slug}-${index}.example.com`, industry: this.faker.commerce.department(), city: this.faker.location.city() };
  }

  deal(index: number): FakeDeal {
    const stages: FakeDeal['stage'][] = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed-won', 'closed-lost'];
    return {
      name: `${this.faker.commerce.productName()} #${index}`,
      amount: this.faker.number.int({ min: 1_000, max: 250_000 }),
      stage: stages[this.faker.number.int({ min: 0, max: stages.length - 1 })] as FakeDeal['stage'],
      closeDate: this.faker.date.soon({ days: 120, refDate: '2026-01-01T00:00:00Z' }).toISOString().slice(0, 10),
    };
  }
}
