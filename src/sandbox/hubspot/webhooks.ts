import type { WebhookDispatcher } from '../core/webhook-dispatcher';
import { SCHEMAS } from './schema';
import { signV1, signV3 } from './signature';
import type { AssociationChange } from './associations';
import type { HubSpotObjectType } from './schema';
import type { RecordChange } from './store';
import type { AppWebhookRegistry } from './app-webhooks';

/** One element of HubSpot's webhook array [H22][H23][H25]. */
export interface HubSpotWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: string;
  attemptNumber: number;
  /** Absent on association events, which name the pair instead. */
  objectId?: number;
  /** `INTEGRATION` for API writes (with `sourceId` = the writing app's id), `CRM_UI` for people. */
  changeSource: string;
  sourceId: string;
  changeFlag?: 'NEW' | 'DELETED' | 'RESTORED';
  propertyName?: string;
  propertyValue?: string;
  /** Generic `object.*` subscriptions (tasks) name the object type. */
  objectTypeId?: string;
  /** `*.associationChange` [H24][H51]: the pair, from the subscribed object's side. */
  associationType?: string;
  fromObjectId?: number;
  toObjectId?: number;
  associationRemoved?: boolean;
  isPrimaryAssociation?: boolean;
  /** Generic `object.associationChange` names both types by id (UNCONFIRMED, [H51]). */
  fromObjectTypeId?: string;
  toObjectTypeId?: string;
}

/** `CONTACT_TO_COMPANY`-style names of the classic association events [H24]; pairs other than contact-company by the same pattern (UNCONFIRMED). */
const ASSOCIATION_NAMES: Record<HubSpotObjectType, string> = { contacts: 'CONTACT', companies: 'COMPANY', deals: 'DEAL', tasks: 'TASK', calls: 'CALL', emails: 'EMAIL', meetings: 'MEETING' };

export interface WebhookSettings {
  portalId: number;
  /** The subscribing app: its id goes in every event, its client secret signs. */
  appId: number;
  clientSecret: string;
  /** Events are gathered this long into one request (HubSpot batches per delivery). */
  batchDelayMs: number;
  /** HubSpot sends at most 100 events per request. */
  maxEventsPerRequest: number;
}

type PendingEvent = Omit<HubSpotWebhookEvent, 'attemptNumber'>;

/**
 * Turns record changes into HubSpot's batched, signed webhook requests. Each attempt is rebuilt,
 * so retries carry a fresh timestamp, signature and `attemptNumber`.
 */
export class HubSpotWebhooks {
  private buffer: PendingEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextEventId = 1;
  private readonly subscriptionIds = new Map<string, number>();
  /** Set while seeding: seeded records stand for data that existed before the sync started. */
  muted = false;

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    private readonly settings: WebhookSettings,
    /** Subscriptions made through the v3 API: their events go to the app's own target URL. */
    private readonly registry?: AppWebhookRegistry,
  ) {}

  /** Someone listens: the admin target (the developer portal's settings) or the API-configured target. */
  private listening(): boolean {
    return this.dispatcher.target() !== undefined || this.registry?.targetUrl() !== undefined;
  }

  record(change: RecordChange): void {
    if (this.muted || !this.listening()) return;
    const schema = SCHEMAS[change.record.type];
    const prefix = schema.classicWebhooks ? schema.singular : 'object';
    const base = (kind: string): PendingEvent => {
      const subscriptionType = `${prefix}.${kind}`;
      const event: PendingEvent = {
        eventId: this.nextEventId++,
        subscriptionId: this.subscriptionId(schema.classicWebhooks ? subscriptionType : `${subscriptionType}:${schema.typeId}`),
        portalId: this.settings.portalId,
        appId: this.settings.appId,
        occurredAt: change.occurredAt,
        subscriptionType,
        objectId: Number(change.record.id),
        changeSource: change.source.changeSource,
        sourceId: change.source.sourceId,
      };
      if (!schema.classicWebhooks) event.objectTypeId = schema.typeId;
      return event;
    };
    if (change.kind === 'creation') this.buffer.push({ ...base('creation'), changeFlag: 'NEW' });
    if (change.kind === 'deletion') this.buffer.push({ ...base('deletion'), changeFlag: 'DELETED' });
    if (change.kind === 'restore') this.buffer.push({ ...base('restore'), changeFlag: 'RESTORED' });
    for (const [propertyName, value] of change.changed) {
      this.buffer.push({ ...base('propertyChange'), propertyName, propertyValue: value ?? '' });
    }
    this.schedule();
  }

  /**
   * One association created or removed: an event from each side whose type has classic
   * subscriptions (`contact.associationChange` contact->company and `company.associationChange`
   * company->contact [H51]); a task side gets the generic `object.associationChange`. No
   * `objectId`: the pair is `fromObjectId`/`toObjectId` (UNCONFIRMED that HubSpot leaves it out).
   */
  recordAssociation(change: AssociationChange): void {
    if (this.muted || !this.listening()) return;
    const sides: [HubSpotObjectType, string, HubSpotObjectType, string][] = [
      [change.fromType, change.fromId, change.toType, change.toId],
      [change.toType, change.toId, change.fromType, change.fromId],
    ];
    for (const [fromType, fromId, toType, toId] of sides) {
      const schema = SCHEMAS[fromType];
      const subscriptionType = `${schema.classicWebhooks ? schema.singular : 'object'}.associationChange`;
      const event: PendingEvent = {
        eventId: this.nextEventId++,
        subscriptionId: this.subscriptionId(schema.classicWebhooks ? subscriptionType : `${subscriptionType}:${schema.typeId}`),
        portalId: this.settings.portalId,
        appId: this.settings.appId,
        occurredAt: change.occurredAt,
        subscriptionType,
        changeSource: change.source.changeSource,
        sourceId: change.source.sourceId,
        associationType: `${ASSOCIATION_NAMES[fromType]}_TO_${ASSOCIATION_NAMES[toType]}`,
        fromObjectId: Number(fromId),
        toObjectId: Number(toId),
        associationRemoved: change.removed,
        isPrimaryAssociation: change.primary,
      };
      if (!schema.classicWebhooks) {
        event.fromObjectTypeId = schema.typeId;
        event.toObjectTypeId = SCHEMAS[toType].typeId;
      }
      this.buffer.push(event);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.buffer.length >= this.settings.maxEventsPerRequest) this.flush();
    else if (this.buffer.length > 0 && this.timer === undefined) this.timer = setTimeout(() => this.flush(), this.settings.batchDelayMs);
  }

  /** Hands everything gathered so far to the dispatcher, in requests of at most `maxEventsPerRequest`. */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.buffer.length > 0) {
      const events = this.buffer.splice(0, this.settings.maxEventsPerRequest);
      if (this.dispatcher.target() !== undefined) this.send(events, this.settings.clientSecret, undefined);
      this.sendToRegisteredTarget(events);
    }
  }

  /** The events an active v3 subscription covers, named by that subscription and signed by its app. */
  private sendToRegisteredTarget(events: PendingEvent[]): void {
    const registry = this.registry;
    const url = registry?.targetUrl();
    if (!registry || url === undefined) return;
    const covered = events.flatMap((event) => {
      const subscriptionId = registry.subscriptionFor(event);
      return subscriptionId === undefined ? [] : [{ ...event, subscriptionId, appId: registry.appId }];
    });
    if (covered.length > 0) this.send(covered, registry.clientSecret, url);
  }

  private send(events: PendingEvent[], clientSecret: string, url: string | undefined): void {
    const build = ({ attempt, url: target }: { attempt: number; url: string }) => {
      const body = JSON.stringify(events.map((event) => ({ ...event, attemptNumber: attempt })));
      const timestamp = Date.now();
      return {
        body,
        headers: {
          'Content-Type': 'application/json',
          'X-HubSpot-Signature': signV1(clientSecret, body),
          'X-HubSpot-Signature-Version': 'v1',
          'X-HubSpot-Signature-v3': signV3(clientSecret, 'POST', target, body, timestamp),
          'X-HubSpot-Request-Timestamp': String(timestamp),
        },
      };
    };
    if (url === undefined) this.dispatcher.enqueue(build);
    else this.dispatcher.enqueueTo(url, build);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.buffer = [];
  }

  private subscriptionId(key: string): number {
    let id = this.subscriptionIds.get(key);
    if (id === undefined) {
      id = 1000 + this.subscriptionIds.size;
      this.subscriptionIds.set(key, id);
    }
    return id;
  }
}
