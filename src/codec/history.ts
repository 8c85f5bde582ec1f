import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

type History = proto.temporal.api.history.v1.IHistory;
const HistoryMessage = proto.temporal.api.history.v1.History;
const PayloadMessage = proto.temporal.api.common.v1.Payload;

/**
 * A copy of a workflow history with every payload (inputs, results, signals, memo, headers,
 * failure details) run through the codec's decode, as the Web UI shows it through a codec
 * endpoint. Useful to record readable histories for replay tests, or to inspect one.
 */
export async function decodeHistoryPayloads(history: History, codec: PayloadCodec): Promise<proto.temporal.api.history.v1.History> {
  // A deep copy through the wire format: every nested message is a real message instance again.
  const copy = HistoryMessage.decode(HistoryMessage.encode(history).finish());
  const found: proto.temporal.api.common.v1.Payload[] = [];
  collectPayloads(copy, found);
  const decoded = await codec.decode(found);
  found.forEach((payload, index) => {
    const plain = decoded[index] as Payload;
    payload.metadata = plain.metadata ?? {};
    payload.data = plain.data ?? new Uint8Array();
  });
  return copy;
}

/** The history as the bytes the server stores and sends (what a reader without the codec gets). */
export function historyBytes(history: History): Buffer {
  return Buffer.from(HistoryMessage.encode(history).finish());
}

function collectPayloads(node: unknown, found: proto.temporal.api.common.v1.Payload[]): void {
  if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
  // Decoded messages name their reflected type in `$type` (protobufjs messages are not classes here).
  if ((node as { $type?: unknown }).$type === PayloadMessage) {
    found.push(node as proto.temporal.api.common.v1.Payload);
    return;
  }
  for (const value of Array.isArray(node) ? node : Object.values(node)) collectPayloads(value, found);
}
