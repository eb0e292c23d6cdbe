import { randomBytes } from 'node:crypto';
import type { OutgoingMessage } from '../../src/messages/message-contract';

/** A rendered message as the content half hands it to queueMessage: a shipped-box receipt unless told otherwise. */
export function buildOutgoingMessage(overrides: Partial<OutgoingMessage> & Pick<OutgoingMessage, 'to'>): OutgoingMessage {
  return {
    key: `ord_${randomBytes(6).toString('hex')}:00000003`,
    template: 'box.shipped',
    category: 'transactional',
    audience: 'shopper',
    subject: 'Your box is on its way',
    html: '<p>Your box has <b>shipped</b>, O&#39;Neil.</p>',
    text: "Your box has shipped, O'Neil.",
    timezone: 'America/New_York',
    ...overrides,
  };
}
