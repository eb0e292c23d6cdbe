import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NotificationModel } from '../../../src/notifications/notification.model';
import { queueNotification, renderMessagePart, type NotificationType } from '../../../src/notifications/notification.service';
import { FakeClock } from '../../../src/shared/time';
import { useTestDatabase } from '../../helpers/test-env';

/** Text for every template, with characters HTML would escape in every field a shopper or merchant can name. */
const NAME = `Zoë O'Neil & <Sons> "Roasters"`;
const ITEM = `Tin & <Mug> 'special'`;
const SAMPLES: Record<NotificationType, { data: Record<string, unknown>; expected: string[] }> = {
  'box.adjusted': {
    data: {
      name: NAME,
      shipOn: '2026-04-01',
      substituted: [{ chosen: ITEM, sent: `Filter & <fine>`, rule: 'second_choice' }],
      omitted: [{ description: ITEM, quantity: 1 }],
    },
    expected: [`Hello ${NAME},`, `- ${ITEM} is out of stock, so we are sending Filter & <fine> instead (your second choice).`, `- ${ITEM} (1) is out of stock`],
  },
  'box.back_ordered': {
    data: { name: NAME, shipOn: '2026-04-01', short: [{ description: ITEM, quantity: 2 }] },
    expected: [`Hello ${NAME},`, `- ${ITEM} (2)`],
  },
  'box.skipped_out_of_stock': {
    data: { name: NAME, description: ITEM, shipOn: '2026-04-01' },
    expected: [`Hello ${NAME},`, `We are sorry: ${ITEM} is out of stock`],
  },
  'gift.thank_you': { data: { name: NAME, description: ITEM, shipOn: '2026-04-01' }, expected: [`Hello ${NAME},`, `a little surprise in it: ${ITEM}, on us.`] },
  'loyalty.points_expiring': {
    data: { name: NAME, points: 300, expiresOn: '2026-05-01' },
    expected: [`Hello ${NAME},`, '300 of your points expire on 2026-05-01.'],
  },
  'loyalty.tier_changed': {
    data: { name: NAME, direction: 'promoted', tier: `Gold & <Co>`, reason: `Reached Gold & <Co>: 9 paid boxes` },
    expected: [`Hello ${NAME},`, 'you are now a Gold & <Co> member', 'Why: Reached Gold & <Co>: 9 paid boxes.'],
  },
  'referral.rewarded': { data: { name: NAME, reward: `$15.00 of credit` }, expected: [`Hello ${NAME},`, 'we have added $15.00 of credit to your account.'] },
};

describe('notification texts', () => {
  useTestDatabase();

  test('when every notification type is rendered with names holding \', &, < and ", then its plain text keeps them as written, never as HTML entities', async () => {
    const clock = new FakeClock('2026-03-01T12:00:00Z');
    for (const [type, sample] of Object.entries(SAMPLES) as Array<[NotificationType, (typeof SAMPLES)[NotificationType]]>) {
      await queueNotification(clock, { merchantId: 'mer_text', customerId: 'cus_text', type, aboutKey: 'one', data: sample.data });
      const { text } = (await NotificationModel.findOne({ merchantId: 'mer_text', type }).lean())!;
      for (const expected of sample.expected) expect(text).toContain(expected);
      expect(text).not.toMatch(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/i);
    }
  });

  test('when a message part is rendered, then a text part prints values as they are, an HTML part escapes them, and a template naming neither is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'message-parts-'));
    for (const name of ['hello.text.ejs', 'hello.html.ejs', 'hello.ejs']) writeFileSync(path.join(dir, name), 'Hello <%= name %>');
    expect(await renderMessagePart(path.join(dir, 'hello.text.ejs'), { name: NAME })).toBe(`Hello ${NAME}`);
    expect(await renderMessagePart(path.join(dir, 'hello.html.ejs'), { name: NAME })).toBe('Hello Zoë O&#39;Neil &amp; &lt;Sons&gt; &#34;Roasters&#34;');
    await expect(renderMessagePart(path.join(dir, 'hello.ejs'), { name: NAME })).rejects.toThrow(/named <name>.text.ejs or <name>.html.ejs/);
  });

  test('when the notification templates are listed, then each type has exactly its plain-text part', () => {
    const files = readdirSync(path.join(__dirname, '../../../views/notifications')).sort();
    expect(files).toEqual([...Object.keys(SAMPLES), 'merchant.sign_up_attempted', 'merchant.sign_up_confirmation'].map((type) => `${type}.text.ejs`).sort());
  });
});
