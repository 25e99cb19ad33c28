/// <reference lib="dom" />
/** Headless Chromium (the Debian package `chromium`) driven by playwright-core; screenshots under test-output/console. */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.resolve(import.meta.dirname, '../../test-output/console');

/** null when the browser can run, else why not (naming the Debian package). */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `browser tests skipped: ${CHROMIUM} not found (apt-get install chromium)`;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(tmpdir(), 'fieldhub-chromium-'));
  mkdirSync(SHOTS, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // counts Content-Security-Policy violations and any script a hostile value managed to run
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[]; __pwned: number };
    w.__csp = [];
    w.__pwned = 0;
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    shot: async (name) => void (await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
