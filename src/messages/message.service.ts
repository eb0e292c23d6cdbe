// replaced by the delivery half at merge
import { model, Schema } from 'mongoose';
import { derivedId } from '../shared/ids';
import type { Clock } from '../shared/time';
import type { OutgoingMessage } from './message-contract';

/**
 * A stand-in for the delivery half's outbox while the content half is built apart: it keeps each message
 * once per (key, template, recipient), as the contract says the real one does, and sends nothing. Tests read
 * what was queued through test/helpers/messages.ts.
 */
export const queuedForTests: OutgoingMessage[] = [];

type StoredMessage = Omit<OutgoingMessage, 'from'> & { _id: string; from?: { name: string; address: string }; queuedAt: Date; order: string };

const PlaceholderMessageModel = model<StoredMessage>(
  'PlaceholderMessage',
  new Schema<StoredMessage>(
    { _id: { type: String, required: true }, queuedAt: { type: Date, required: true } },
    { strict: false, strictQuery: false, collection: 'placeholder_messages', versionKey: false },
  ),
);

export async function queueMessage(deps: { clock: Clock }, message: OutgoingMessage): Promise<{ id: string; queued: boolean }> {
  const id = derivedId('msg', `${message.key}\n${message.template}\n${message.to}`);
  const result = await PlaceholderMessageModel.updateOne(
    { _id: id },
    { $setOnInsert: { ...message, queuedAt: deps.clock.now(), order: process.hrtime.bigint().toString().padStart(24, '0') } },
    { upsert: true },
  );
  const queued = result.upsertedCount === 1;
  if (queued) queuedForTests.push(message);
  return { id, queued };
}

/** What the stand-in keeps, in the order it was queued (tests only). */
export async function storedMessagesForTests(filter: Partial<Record<keyof OutgoingMessage, unknown>> = {}): Promise<Array<OutgoingMessage & { id: string }>> {
  const stored = await PlaceholderMessageModel.find(filter as Record<string, string>)
    .sort({ order: 1 })
    .lean<StoredMessage[]>();
  return stored.map(({ _id, queuedAt: _queuedAt, order: _order, ...message }) => ({ ...message, id: _id }));
}
