import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMAIL_VIEWS, renderMessagePart, renderTemplate, type RenderContext } from '../../../src/messages/message-rendering';
import { TEMPLATES, templateNamed } from '../../../src/messages/message-templates';

/** Names with every character HTML escapes, as a shopper or merchant may write them. */
const SHOPPER = `Zoë O'Neil & <Sons>`;
const STORE = `Bean & <Leaf> "Roasters" O'Hara`;
const PUBLIC_URL = 'https://shop.example';

function context(overrides: Partial<RenderContext> = {}): RenderContext {
  return {
    merchant: { name: STORE, accentColor: '#1f6f54' },
    recipient: { name: SHOPPER },
    locale: 'en-US',
    timezone: 'America/New_York',
    footer: { reason: `You have a subscription with ${STORE}.`, unsubscribeUrl: `${PUBLIC_URL}/unsubscribe?a=1&b=2` },
    ...overrides,
  };
}

const ENTITY = /&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos|nbsp);/i;

describe('message templates', () => {
  test.each(TEMPLATES.map((template) => [template.name]))(
    "when %s is rendered with its sample data, then both parts say it: the HTML escapes names with <, & and ', the text keeps them as written",
    async (name) => {
      const template = templateNamed(name);
      const rendered = await renderTemplate(template, template.sample({ publicUrl: PUBLIC_URL }), context());

      expect(rendered.subject.length).toBeGreaterThan(5);
      // HTML: one responsive document, table-based, at most 600px wide, in the store's colour, with the footer.
      expect(rendered.html).toMatch(/^<!doctype html>/);
      expect(rendered.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(rendered.html).toContain('max-width:600px');
      expect(rendered.html).toContain('role="presentation"');
      expect(rendered.html).toContain('#1f6f54');
      expect(rendered.html).toContain('Bean &amp; &lt;Leaf&gt; &#34;Roasters&#34; O&#39;Hara');
      expect(rendered.html).not.toContain(STORE);
      expect(rendered.html).toContain('href="https://shop.example/unsubscribe?a=1&amp;b=2"');
      // Text: the same words, nothing escaped.
      expect(rendered.text).toContain(STORE);
      expect(rendered.text).toContain(`${PUBLIC_URL}/unsubscribe?a=1&b=2`);
      expect(rendered.text).not.toMatch(ENTITY);
      expect(rendered.text.replaceAll(STORE, '').replaceAll(SHOPPER, '')).not.toMatch(/<[a-z/]/i); // no markup of its own
      expect(rendered.text).not.toContain('[object');
      expect(rendered.html).not.toContain('[object');
      expect(rendered.text).not.toMatch(/undefined|NaN|Invalid Date/);
      if (template.audience === 'shopper') {
        expect(rendered.html).toContain('Hello Zoë O&#39;Neil &amp; &lt;Sons&gt;,');
        expect(rendered.text).toContain(`Hello ${SHOPPER},`);
      }
      // Every link of the text is in the HTML too (escaped for it).
      for (const [url] of rendered.text.matchAll(/https?:\/\/[^\s)]*[^\s).,:]/g)) expect(rendered.html).toContain(url.replace(/&/g, '&amp;'));
    },
  );

  test('when the e-mail views are listed, then every template has exactly its HTML and text parts, besides the layout and partials', () => {
    const files = readdirSync(EMAIL_VIEWS).filter((file) => file.endsWith('.ejs'));
    expect(files.sort()).toEqual(
      [...TEMPLATES.flatMap((template) => [`${template.name}.html.ejs`, `${template.name}.text.ejs`]), 'layout.html.ejs', 'layout.text.ejs'].sort(),
    );
    expect(new Set(TEMPLATES.map((template) => template.name)).size).toBe(TEMPLATES.length);
  });

  test('when data lacks what a template needs, then rendering refuses it rather than sending a broken message', async () => {
    await expect(renderTemplate(templateNamed('box.shipped'), { shipOn: '2026-05-01' }, context())).rejects.toThrow(/carrier/);
  });

  test.each([
    ['en-US', 'USD', 'Your receipt: $43.00 for your box of May 1, 2026', '- Coffee box: Whole bean: $26.00'],
    ['de-DE', 'EUR', 'Your receipt: 43,00\u00a0€ for your box of 1. Mai 2026', '- Coffee box: Whole bean: 26,00\u00a0€'],
    ['ja-JP', 'JPY', 'Your receipt: ￥4,300 for your box of 2026年5月1日', '- Coffee box: Whole bean: ￥2,600'],
  ])(
    'when a receipt is rendered for a %s shopper in %s, then money is in their locale with the currency’s own digits',
    async (locale, currency, subject, line) => {
      const template = templateNamed('box.receipt');
      // The same minor units: 2600 is $26.00 and 26,00 €, but ￥2,600 (the yen has no minor digits).
      const money = (hundreds: number) => ({ amountMinor: hundreds * 100, currency });
      const rendered = await renderTemplate(
        template,
        {
          shipOn: '2026-05-01',
          paidAt: '2026-05-01T13:00:00.000Z',
          lines: [
            { description: 'Coffee box: Whole bean', quantity: 1, amount: money(26) },
            { description: 'Ceramic mug', quantity: 1, amount: money(12) },
            { description: 'Shipping', quantity: 1, amount: money(5) },
          ],
          amountPaid: money(43),
          address: { line1: '1 Main St', city: 'Springfield', postalCode: '62701', country: 'US' },
        },
        context({ locale }),
      );
      expect(rendered.subject).toBe(subject);
      expect(rendered.text).toContain(line);
      expect(rendered.html).toContain(`lang="${locale.slice(0, 2)}"`);
    },
  );

  test('when an instant is near midnight, then its date is the one in the shopper’s zone', async () => {
    const template = templateNamed('loyalty.points_expiring');
    const data = { points: 120, expiresAt: '2026-06-30T20:00:00.000Z' };
    const inNewYork = await renderTemplate(template, data, context({ timezone: 'America/New_York' }));
    const inTokyo = await renderTemplate(template, data, context({ timezone: 'Asia/Tokyo' }));
    expect(inNewYork.subject).toBe('120 points expire on June 30, 2026');
    expect(inTokyo.subject).toBe('120 points expire on July 1, 2026');
    const upcoming = templateNamed('subscription.upcoming_box');
    const sample = upcoming.sample({ publicUrl: PUBLIC_URL }) as Record<string, unknown>;
    const berlin = await renderTemplate(upcoming, { ...sample, cutoffAt: '2026-04-28T13:00:00.000Z' }, context({ locale: 'de-DE', timezone: 'Europe/Berlin' }));
    expect(berlin.text).toContain('28. April 2026 um 15:00 MESZ');
  });

  test('when a reminder has no unsubscribe link (a transactional message), then its footer has none', async () => {
    const template = templateNamed('box.shipped');
    const rendered = await renderTemplate(template, template.sample({ publicUrl: PUBLIC_URL }), context({ footer: { reason: 'Why.' } }));
    expect(rendered.html).not.toContain('Unsubscribe');
    expect(rendered.text).not.toContain('Unsubscribe');
  });

  test('when a message part is rendered, then a text part prints values as they are, an HTML part escapes them, and a template naming neither is refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'message-parts-'));
    for (const name of ['hello.text.ejs', 'hello.html.ejs', 'hello.ejs']) writeFileSync(path.join(dir, name), 'Hello <%= name %>');
    expect(await renderMessagePart(path.join(dir, 'hello.text.ejs'), { name: SHOPPER })).toBe(`Hello ${SHOPPER}`);
    expect(await renderMessagePart(path.join(dir, 'hello.html.ejs'), { name: SHOPPER })).toBe('Hello Zoë O&#39;Neil &amp; &lt;Sons&gt;');
    await expect(renderMessagePart(path.join(dir, 'hello.ejs'), { name: SHOPPER })).rejects.toThrow(/named <name>.text.ejs or <name>.html.ejs/);
  });
});
