/**
 * Headless Chromium for the web UI tests: Debian's /usr/bin/chromium driven by playwright-core (no
 * browser download), a page whose script errors and console errors (a CSP refusal, a failed module
 * load) are collected in `problems`, and the login form filled in.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** false, or why the browser tests are skipped. */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests`;

export interface UiBrowser {
  browser: Browser;
  page: Page;
  /** Script and console errors seen so far (4xx answers the UI handles are not problems). */
  problems: string[];
}

export async function openBrowser(): Promise<UiBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) problems.push(`console: ${msg.text()}`); });
  // Purge and delete ask for confirmation: the tests say yes.
  page.on('dialog', (d) => void d.accept());
  return { browser, page, problems };
}

/** Opens the UI at `base` and logs in through the form. */
export async function login(page: Page, base: string, user = 'guest', password = 'guest'): Promise<void> {
  await page.goto(base);
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#main h1');
}
