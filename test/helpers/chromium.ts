import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium (`.ci/run` installs it); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why a browser test must skip, or false: it skips loudly when chromium is missing, unless
 * `BREAKWATER_REQUIRE_SERVICES=1` (CI), where launching then fails the test instead.
 */
export function chromiumSkip(testFile: string): string | false {
  const skip =
    !existsSync(CHROMIUM) && process.env.BREAKWATER_REQUIRE_SERVICES !== '1'
      ? `${CHROMIUM} is missing (apt-get install chromium); BREAKWATER_REQUIRE_SERVICES=1 makes this a failure`
      : false;
  if (skip) console.warn(`${testFile} SKIPPED: ${skip}`);
  return skip;
}

/** Headless chromium with the flags this closed network needs (no background connections). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}
