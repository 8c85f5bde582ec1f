import { ACTIVITY_SETS, ENTITY_SETS, entitySet, type EntitySetDefinition } from './entity-sets';
import { badQuery, DataverseError, duplicateKey, ErrorCodes } from './errors';
import type { Actor, DataverseStore, Row, StoreTriggers } from './store';

const PARTIES = ENTITY_SETS.activityparties as EntitySetDefinition;

function activityTables(): EntitySetDefinition[] {
  return ACTIVITY_SETS.map((name) => entitySet(name)).filter((definition): definition is EntitySetDefinition => definition !== undefined);
}

/** The activity table holding `id`, whichever it is: activityid is unique across them [D39]. */
export function activityTableOf(store: DataverseStore, id: string): EntitySetDefinition | undefined {
  return activityTables().find((definition) => store.get(definition, id) !== undefined);
}

/**
 * Platform rules around activity writes: an activityid taken by another activity table is a
 * duplicate [D39]; a state given without a status gets the state's default status, and a status
 * outside the state's is refused [D46]; deleting an activity deletes its parties [D41].
 */
export function activityTriggers(store: DataverseStore): StoreTriggers {
  return {
    beforeCreate: (definition, values) => {
      if (!definition.activityParties) return values;
      const id = values[definition.primaryId];
      if (typeof id === 'string' && activityTableOf(store, id)) throw duplicateKey();
      return withStatus(definition, values, undefined);
    },
    afterDelete: (definition, row, actor) => {
      if (!definition.activityParties) return;
      for (const party of partiesOf(store, row[definition.primaryId] as string)) store.delete(PARTIES, party.activitypartyid as string, actor);
    },
  };
}

/** `statecode`/`statuscode` as the platform settles them on a write [D46]. */
export function withStatus(definition: EntitySetDefinition, values: Row, existing: Row | undefined): Row {
  const states = definition.states;
  if (!states || (!('statecode' in values) && !('statuscode' in values))) return values;
  const state = typeof values.statecode === 'number' ? values.statecode : typeof existing?.statecode === 'number' ? existing.statecode : 0;
  const rule = states[state];
  if (!rule) throw new DataverseError(400, ErrorCodes.optionOutOfRange, `${state} is not a valid state code on ${definition.logicalName}.`);
  const status = 'statuscode' in values && typeof values.statuscode === 'number' ? values.statuscode : 'statecode' in values ? rule.default : existing?.statuscode;
  if (typeof status === 'number' && !rule.allowed.includes(status)) {
    // UNCONFIRMED: the platform's code and text for a status outside its state.
    throw new DataverseError(400, ErrorCodes.invalidStateStatus, `${status} is not a valid status code for state code ${definition.logicalName}State.${state}.`);
  }
  return { ...values, statecode: state, statuscode: status ?? rule.default };
}

export function partiesOf(store: DataverseStore, activityId: string): Row[] {
  return [...store.rows(PARTIES)].filter((party) => party._activityid_value === activityId);
}

/** A `<table>_activity_parties` array as party column values, each checked against the table's types [D37]. */
export function partyValues(definition: EntitySetDefinition, body: unknown, toValues: (party: unknown) => Row): Row[] {
  const parties = definition.activityParties;
  if (!parties) throw badQuery(`The property '${definition.logicalName}_activity_parties' does not exist on type 'Microsoft.Dynamics.CRM.${definition.logicalName}'.`);
  if (!Array.isArray(body)) throw badQuery(`The value of '${parties.navigation}' must be an array of activityparty entities.`);
  return body.map((party) => {
    const values = toValues(party);
    if (typeof values.participationtypemask !== 'number' || !parties.masks.includes(values.participationtypemask)) {
      // UNCONFIRMED: the platform's text; the rule (types per activity) is [D37].
      throw badQuery(`Participation type ${String(values.participationtypemask)} is not valid for an activity party of ${definition.logicalName}.`);
    }
    if (typeof values._partyid_value !== 'string') throw badQuery('An activity party needs a party (partyid_<table>@odata.bind).');
    return values;
  });
}

/** Replaces an activity's parties with `parties` (PUT of the collection [D41]; replacing, not appending, UNCONFIRMED). */
export function replaceParties(store: DataverseStore, activityId: string, parties: readonly Row[], actor: Actor): void {
  for (const party of partiesOf(store, activityId)) store.delete(PARTIES, party.activitypartyid as string, actor);
  for (const party of parties) store.create(PARTIES, { ...party, _activityid_value: activityId }, actor);
}

export const ACTIVITY_PARTIES = PARTIES;
