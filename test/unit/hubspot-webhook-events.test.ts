import { describe, expect, it } from 'vitest';
import { KIND_MAPPINGS } from '../../src/connectors/hubspot/activity-kinds';
import { hubspotDefaultMapping } from '../../src/connectors/hubspot/default-mapping';
import { manualInstructions, sameEvent, wantedEvents } from '../../src/connectors/hubspot/webhook-events';
import { compileMapping } from '../../src/model/mapping';

const mapping = compileMapping(hubspotDefaultMapping);
const mappingOf = (target: { kind?: string | undefined }) => (target.kind === undefined || target.kind === 'task' ? mapping : compileMapping(KIND_MAPPINGS[target.kind as keyof typeof KIND_MAPPINGS]));

describe('HubSpot webhook events wanted for a connection', () => {
  it('a classic object: its four lifecycle events and one propertyChange per mapped property, no more', () => {
    const events = wantedEvents(['contact'], mappingOf);
    const lifecycle = events.filter((event) => event.propertyName === undefined).map((event) => event.eventType);
    expect(lifecycle).toEqual(['contact.creation', 'contact.deletion', 'contact.restore', 'contact.associationChange']);
    const properties = events.filter((event) => event.eventType === 'contact.propertyChange').map((event) => event.propertyName);
    expect(properties).toEqual(expect.arrayContaining(['email', 'firstname', 'lastname']));
    expect(new Set(properties).size).toBe(properties.length);
    expect(events.every((event) => event.objectTypeId === undefined && event.objectType === 'contact')).toBe(true);
  });

  it('activities: generic object.* events for each of tasks, calls, emails and meetings, named by type id', () => {
    const events = wantedEvents(['activity'], mappingOf);
    expect([...new Set(events.map((event) => event.objectTypeId))]).toEqual(['0-27', '0-48', '0-49', '0-47']);
    expect(events.every((event) => event.eventType.startsWith('object.'))).toBe(true);
    expect(events).toContainEqual({ objectType: 'activity', eventType: 'object.propertyChange', propertyName: 'hs_call_title', objectTypeId: '0-48' });
  });

  it('matches a listed subscription field by field, absent equal to absent', () => {
    const [creation] = wantedEvents(['deal'], mappingOf);
    expect(creation && sameEvent({ eventType: 'deal.creation' }, creation)).toBe(true);
    expect(creation && sameEvent({ eventType: 'deal.creation', propertyName: 'amount' }, creation)).toBe(false);
  });

  it('manual instructions name the target URL and every subscription on its own line', () => {
    const events = wantedEvents(['company'], mappingOf);
    const lines = manualInstructions('https://sync.example/webhooks/hubspot/t/c', events, 'no developer key');
    expect(lines[1]).toBe('Target URL: https://sync.example/webhooks/hubspot/t/c');
    expect(lines.filter((line) => line.startsWith('  '))).toHaveLength(events.length);
    expect(lines).toContain('  company.propertyChange, property name');
  });
});
