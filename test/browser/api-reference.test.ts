import { existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { apiRoutes } from '../../src/api';
import { FakeClock } from '../../src/shared/time';
import { createStripeGateway } from '../../src/stripe/stripe-gateway';
import { buildTestApp } from '../helpers/test-app';
import { silentLogger, testStripe, useTestDatabase } from '../helpers/test-env';

/** Debian's Chromium (156 ↔ playwright-core 1.64): nothing is downloaded. CI installs it (apt-get install chromium). */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(os.tmpdir(), 'boxcycle-screenshots');

jest.setTimeout(90_000);

describe('the API reference, in Chromium', () => {
  useTestDatabase();
  let server: Server;
  let baseUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test needs Debian's chromium (apt-get install -y chromium).`);
    }
    server = buildTestApp().app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.close();
      await once(server, 'close');
    }
  });

  /** A page that records what a person would not see: console errors, script errors, CSP violations, requests elsewhere. */
  async function openPage(viewport: { width: number; height: number }): Promise<{ page: Page; problems: string[]; foreign: string[] }> {
    const page = await browser.newPage({ viewport });
    const problems: string[] = [];
    const foreign: string[] = [];
    await page.addInitScript({
      content:
        "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning' || /content security policy/i.test(message.text()))
        problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`${res.status()} for ${res.url()}`);
    });
    page.on('request', (req) => {
      if (!req.url().startsWith(baseUrl) && !req.url().startsWith('blob:') && !req.url().startsWith('data:')) foreign.push(req.url());
    });
    return { page, problems, foreign };
  }

  test('when a person follows the link on the front page, then Redoc lists every operation with no CSP violation and no request elsewhere', async () => {
    const { page, problems, foreign } = await openPage({ width: 1280, height: 900 });
    await page.goto(`${baseUrl}/`);
    await page.getByRole('link', { name: 'API reference' }).click();
    await page.waitForURL(`${baseUrl}/docs/api`);
    await page.getByRole('heading', { name: 'Subscribe a customer' }).waitFor();

    const routes = apiRoutes({
      clock: new FakeClock(),
      logger: silentLogger,
      stripe: createStripeGateway(testStripe()),
      version: 'test',
      publicUrl: baseUrl,
      checkResponses: true,
    });
    const sections = await page.locator('[data-section-id^="operation/"]').evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-section-id')));
    expect(new Set(sections)).toEqual(new Set(routes.map((route) => `operation/${route.operationId}`)));

    // What was missing from the document before: perk benefits, eligibility, the CSV pick list, shopper sessions.
    await page.goto(`${baseUrl}/docs/api#tag/Perks/operation/createPerk`);
    await page.getByText('free_addon').first().waitFor();
    await page.goto(`${baseUrl}/docs/api#tag/Orders/operation/getPickList`);
    await page.locator('[data-section-id="operation/getPickList"]').getByText('text/csv').first().waitFor();

    // The search index runs in a blob: worker (the one CSP relaxation of this page).
    await page.getByPlaceholder('Search...').fill('pick list');
    const searched = await page
      .locator('[role="search"] li')
      .first()
      .waitFor({ timeout: 10_000 })
      .then(
        () => true,
        () => false,
      );
    expect({ searched, problems }).toEqual({ searched: true, problems: [] });

    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.goto(`${baseUrl}/docs/api#tag/Subscriptions/operation/createSubscription`);
    await page.getByRole('heading', { name: 'Subscribe a customer' }).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'api-reference-desktop.png') });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });

  test("when the reference is opened on a phone, then it renders, and only this page's policy lets its search run in a blob: worker", async () => {
    const { page, problems, foreign } = await openPage({ width: 390, height: 844 });
    const home = await page.goto(`${baseUrl}/`);
    expect(home?.headers()['content-security-policy']).not.toContain('blob:');
    const response = await page.goto(`${baseUrl}/docs/api`);
    expect(response?.headers()['content-security-policy']).toContain("worker-src 'self' blob:");
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self' https://js.stripe.com;");
    await page.locator('[data-section-id="operation/createSubscription"]').waitFor({ state: 'attached' });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'api-reference-phone.png') });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
  });
});
