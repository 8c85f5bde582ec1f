import { ConnectorError } from '../errors';
import { mapLimited } from '../map-limited';
import type { PipedriveContext } from './context';
import type { PipedriveRecord } from './record-mapper';
import { dealContactsPlan, idOrNull, needsParticipants, type DealParticipantRow } from './references';
import { PIPEDRIVE_API } from './spec';

/**
 * A deal's participants live behind a v1 endpoint of their own, one deal per call; no list or
 * batch form exists, in v1 or v2 [P13][P16]. Reads list them only for deals whose
 * `participants_count` (asked on every deal read through `include_fields`) is above zero: a page
 * of deals costs its list call plus one `GET /v1/deals/{id}/participants` (10 tokens [P13]) per
 * deal that has participants.
 */

/** Participant lists read at a time (the burst window still paces them). */
const LISTS_IN_FLIGHT = 4;
/** v1 offset paging; 500 per page (v1's usual maximum, UNCONFIRMED for this endpoint). */
const PAGE = 500;

interface ParticipantItem {
  id: number;
  person_id?: { value?: number } | number | null;
}

interface OffsetEnvelope {
  data: ParticipantItem[] | null;
  additional_data?: { more_items_in_collection?: boolean; pagination?: { more_items_in_collection?: boolean } } | null;
}

const participantsPath = (dealId: string): string => `${PIPEDRIVE_API.fieldsPath}/deals/${dealId}/participants`;

/** The `include_fields` a deal read asks for, so reads know which deals have participants [P16]. */
export const DEAL_INCLUDE_FIELDS = { include_fields: 'participants_count' } as const;

/** Every participant of a deal: `GET /v1/deals/{id}/participants?start=&limit=` until no more [P13]. */
export async function listDealParticipants(ctx: PipedriveContext, dealId: string): Promise<DealParticipantRow[]> {
  const rows: DealParticipantRow[] = [];
  let start = 0;
  for (;;) {
    // https://developers.pipedrive.com/docs/api/v1/Deals#getDealParticipants
    const answer = (await ctx.http.json<ParticipantItem[] | null>({ method: 'GET', path: participantsPath(dealId), query: { start, limit: PAGE }, kind: 'sublist' })) as OffsetEnvelope;
    const items = answer.data ?? [];
    for (const item of items) {
      const person = typeof item.person_id === 'object' && item.person_id !== null ? item.person_id.value : item.person_id;
      const personId = idOrNull(person);
      if (personId) rows.push({ participantId: item.id, personId });
    }
    // The client's model puts the flag on additional_data; other v1 lists nest it under `pagination`.
    const more = answer.additional_data?.more_items_in_collection ?? answer.additional_data?.pagination?.more_items_in_collection ?? false;
    if (!more || items.length === 0) return rows;
    start += items.length;
  }
}

/**
 * Participant person ids by deal id for the deals read: listed for those with participants, []
 * for those with none (no call). A deal deleted between its read and its listing is left out.
 */
export async function participantsOf(ctx: PipedriveContext, deals: readonly PipedriveRecord[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  const listed = deals.filter((deal) => needsParticipants(deal));
  for (const deal of deals) if (!needsParticipants(deal)) out.set(deal.id, []);
  await mapLimited(listed, LISTS_IN_FLIGHT, async (deal) => {
    try {
      out.set(deal.id, (await listDealParticipants(ctx, String(deal.id))).map((row) => row.personId));
    } catch (error) {
      if (!(error instanceof ConnectorError) || error.errorClass !== 'not-found') throw error;
    }
  });
  return out;
}

/**
 * Makes a deal's participants match `wanted` (the contacts slot written), after its record was
 * written with `person` as its person: clears the person when not wanted, adds the missing
 * participants (`POST`, body `{person_id}`) and deletes the others by participant id [P13].
 * A new deal has none to list.
 */
export async function writeDealContacts(ctx: PipedriveContext, dealId: string, wanted: readonly string[], person: string | null, created: boolean): Promise<void> {
  const current = created ? [] : await listDealParticipants(ctx, dealId);
  const plan = dealContactsPlan(wanted, person, current);
  if (plan.clearPerson) await ctx.http.json({ method: 'PATCH', path: `${PIPEDRIVE_API.recordsPath}/deals/${dealId}`, body: { person_id: null }, kind: 'update' });
  for (const personId of plan.add) {
    // https://developers.pipedrive.com/docs/api/v1/Deals#addDealParticipant
    await ctx.http.json({ method: 'POST', path: participantsPath(dealId), body: { person_id: Number(personId) }, kind: 'update' });
  }
  for (const participantId of plan.remove) {
    // https://developers.pipedrive.com/docs/api/v1/Deals#deleteDealParticipant
    await ctx.http.json({ method: 'DELETE', path: `${participantsPath(dealId)}/${participantId}`, kind: 'delete' });
  }
}
