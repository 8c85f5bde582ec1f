import type { ObjectType } from '../../model/identifiers';
import { nativeFieldsToRead, type CompiledMapping } from '../../model/mapping';
import { targetsOf, type HubSpotTarget } from './activity-kinds';

/** One app-level event subscription, as the v3 API names it [H85][H87]. */
export interface WantedEvent {
  objectType: ObjectType;
  eventType: string;
  propertyName?: string | undefined;
  /** Generic `object.*` subscriptions (tasks, calls, emails, meetings) name the object type. */
  objectTypeId?: string | undefined;
}

/** The singular of a classic object (`contact.creation`); the rest subscribe as `object.*` with their type id [H87]. */
const CLASSIC: Partial<Record<HubSpotTarget['path'], string>> = { contacts: 'contact', companies: 'company', deals: 'deal' };

/** The kinds of event the shim reads: a record made, changed, removed, brought back, or re-associated. */
const KINDS = ['creation', 'deletion', 'restore', 'associationChange'] as const;

/**
 * What crm-sync needs to hear about `objects`: creation, deletion, restore and association changes
 * of each HubSpot object behind them, and a `propertyChange` per mapped property (HubSpot takes
 * property changes one property per subscription [H85]). Pure: the same inputs, the same list.
 */
export function wantedEvents(objects: readonly ObjectType[], mappingOf: (target: HubSpotTarget) => CompiledMapping): WantedEvent[] {
  return objects.flatMap((objectType) =>
    targetsOf(objectType).flatMap((target) => {
      const classic = CLASSIC[target.path];
      const event = (kind: string, propertyName?: string): WantedEvent => ({
        objectType,
        eventType: `${classic ?? 'object'}.${kind}`,
        ...(propertyName !== undefined ? { propertyName } : {}),
        ...(classic === undefined ? { objectTypeId: target.typeId } : {}),
      });
      const properties = [...new Set(nativeFieldsToRead(mappingOf(target), objectType))].sort();
      return [...KINDS.map((kind) => event(kind)), ...properties.map((property) => event('propertyChange', property))];
    }),
  );
}

/** The same event, whoever made the subscription (the API answers ids as strings, absent fields omitted). */
export function sameEvent(a: { eventType: string; propertyName?: string | undefined; objectTypeId?: string | undefined }, b: WantedEvent): boolean {
  return a.eventType === b.eventType && (a.propertyName ?? undefined) === b.propertyName && (a.objectTypeId ?? undefined) === b.objectTypeId;
}

/** One line per subscription, as the app's Webhooks settings page lists them. */
export function describeEvent(event: WantedEvent): string {
  const on = event.objectTypeId !== undefined ? ` (object type ${event.objectTypeId})` : '';
  return event.propertyName !== undefined ? `${event.eventType}${on}, property ${event.propertyName}` : `${event.eventType}${on}`;
}

/**
 * What an administrator sets by hand where crm-sync cannot (no developer API key, or a private
 * app, whose webhooks the API cannot edit [H84]). Subscriptions belong to the app and reach every
 * portal that installed it.
 */
export function manualInstructions(callbackUrl: string, events: readonly WantedEvent[], reason: string): string[] {
  return [
    `HubSpot webhooks are set per app, not per portal (${reason}). In the app's settings, Webhooks:`,
    `Target URL: ${callbackUrl}`,
    'Event subscriptions to create, each active:',
    ...events.map((event) => `  ${describeEvent(event)}`),
    "HubSpot signs each request with the app's client secret (X-HubSpot-Signature-v3); crm-sync verifies with the connection's client secret.",
  ];
}
