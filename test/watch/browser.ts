/** Debian's chromium through playwright-core, with the flags that keep it offline and quiet. */
import { chromium, type Browser } from 'playwright-core';
import { requireTool } from './support.js';

export const CHROMIUM = process.env.KEYWARDEN_CHROMIUM ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  requireTool(CHROMIUM, 'chromium');
  return chromium.launch({
    executablePath: CHROMIUM,
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
}
