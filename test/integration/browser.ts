/** Debian's Chromium, driven by playwright-core, as the Web UI tests open it. */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
// As root, in a closed network: no sandbox, and no background connections to Google's hosts.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Installed by deploy/test.sh; missing means the install failed: the test fails, never skips. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: deploy/test.sh installs Debian's chromium`);
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
}
