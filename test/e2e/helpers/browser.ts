/**
 * A real browser for end-to-end tests: Debian's chromium (installed by
 * scripts/install-browser.sh, never a downloaded build) driven by playwright-core.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a headless run on a machine without outside network: without the
 * background-networking ones Chromium keeps dialling Google services, connections this
 * machine refuses. Playwright gives each launch a fresh temporary profile.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const LAUNCH_TIMEOUT_MS = 30_000;

/** Whether this run is in CI, where a missing browser fails instead of skipping. */
export const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

/** Why the browser tests cannot run here, or null when chromium is installed. */
export function browserMissingReason(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  return `${CHROMIUM_PATH} is missing: install Debian's chromium with scripts/install-browser.sh (as root)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
}
