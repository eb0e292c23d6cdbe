import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Pages tested as a person uses them: Debian's Chromium (156, driven by playwright-core 1.64 — nothing is
 * downloaded; CI installs it), headless, on a real HTTP server of the app. Each page records what a person
 * would not see (console errors, CSP violations, requests to other hosts); `checkAccessibility` runs axe-core;
 * `screenshot` keeps the page at phone and desktop widths in $TMPDIR/boxcycle-screenshots.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = path.join(os.tmpdir(), 'boxcycle-screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 900 };
/** A tablet held upright: the merchant's pages are checked at it and at DESKTOP. */
export const TABLET = { width: 820, height: 1180 };
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface BrowserRun {
  baseUrl: string;
  browser: Browser;
  /** A fresh browser profile (its own cookies), with problems recorded. */
  newVisitor(viewport?: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function startBrowser(app: Express): Promise<BrowserRun> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install -y chromium).`);
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const baseUrl = `http://localhost:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return {
    baseUrl,
    browser,
    async newVisitor(viewport = DESKTOP) {
      const context = await browser.newContext({ viewport, baseURL: baseUrl });
      const page = await context.newPage();
      const problems: string[] = [];
      await page.addInitScript({
        content:
          "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
      });
      page.on('console', (message) => {
        // A page's own 4xx (a refused form) is its answer, not a problem; a sub-resource that fails is (below).
        if (/^Failed to load resource/.test(message.text())) return;
        if (message.type() === 'error' || /content security policy/i.test(message.text())) problems.push(`${message.type()}: ${message.text()}`);
      });
      page.on('response', (response) => {
        if (response.request().resourceType() !== 'document' && response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        const url = new URL(request.url());
        if (!['localhost', '127.0.0.1'].includes(url.hostname) && url.protocol !== 'data:' && url.protocol !== 'about:')
          problems.push(`request elsewhere: ${request.url()}`);
      });
      return { context, page, problems };
    },
    async close() {
      await browser.close();
      server.close();
      await once(server, 'close');
    },
  };
}

/** axe-core's findings of serious or critical impact on the page as it is now (WCAG 2.1 AA rules). */
export async function checkAccessibility(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's own CSP does not apply to the checker.
  await page.evaluate(AXE);
  const results = await page.evaluate(async () => {
    const page = globalThis as unknown as {
      document: unknown;
      axe: {
        run: (
          context: unknown,
          options: unknown,
        ) => Promise<{ violations: Array<{ id: string; impact: string | null; help: string; nodes: Array<{ target: unknown[] }> }> }>;
      };
    };
    return page.axe.run(page.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => JSON.stringify(node.target)).join(', ')}`);
}

/** Keeps the page as a PNG (full page) for a person to look at: `<name>-<width>.png`. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}-${page.viewportSize()?.width ?? 0}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
