import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { renderTemplate } from '../../src/messages/message-rendering';
import { TEMPLATES } from '../../src/messages/message-templates';

/** Debian's Chromium (156 ↔ playwright-core 1.64): nothing is downloaded. CI installs it (apt-get install chromium). */
const CHROMIUM = '/usr/bin/chromium';

jest.setTimeout(90_000);

/**
 * Every message's HTML part, laid out by a real browser engine at a phone's width and at a desktop client's:
 * nothing wider than the screen on the phone (no sideways scrolling), at most 600px wide on the desktop,
 * every link and button on screen.
 */
describe('the e-mails, laid out in Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install -y chromium).`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  test.each(TEMPLATES.map((template) => [template.name]))(
    'when %s is opened on a phone and on a desktop, then it fits the one and is 600px at most on the other',
    async (name) => {
      const template = TEMPLATES.find((t) => t.name === name)!;
      const { html } = await renderTemplate(template, template.sample({ publicUrl: 'https://shop.example' }), {
        merchant: { name: 'A store with a rather long name, to see it wrap', accentColor: '#1f6f54' },
        recipient: { name: 'Ana Shopper' },
        locale: 'en-US',
        timezone: 'America/New_York',
        footer: { reason: 'You receive this e-mail because you have a subscription.', unsubscribeUrl: 'https://shop.example/unsubscribe?x=1' },
      });
      for (const viewport of [
        { width: 360, height: 740 },
        { width: 1024, height: 800 },
      ]) {
        const page = await browser.newPage({ viewport });
        // Offline: the message is set as the page, and nothing outside it may load.
        await page.route('**/*', (route) => route.abort());
        await page.setContent(html, { waitUntil: 'load' });
        // Measured in the page (a string, so the DOM is the browser's, not this test's types).
        const layout = await page.evaluate<{ scrollWidth: number; containerWidth: number; linksOnScreen: boolean }>(`(() => {
        const container = document.querySelector('table.container').getBoundingClientRect();
        const links = [...document.querySelectorAll('a')].map((a) => a.getBoundingClientRect());
        return {
          scrollWidth: document.documentElement.scrollWidth,
          containerWidth: container.width,
          linksOnScreen: links.every((box) => box.width > 0 && box.right <= window.innerWidth + 0.5 && box.left >= 0),
        };
      })()`);
        expect(layout.scrollWidth).toBeLessThanOrEqual(viewport.width);
        expect(layout.linksOnScreen).toBe(true);
        if (viewport.width < 600) expect(layout.containerWidth).toBeGreaterThan(viewport.width - 40);
        else expect(layout.containerWidth).toBe(600);
        await page.close();
      }
    },
  );
});
