/** Headless Chromium (Debian's package, driven by playwright-core) for the browser tests. */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.SKELPRUNE_CHROMIUM ?? '/usr/bin/chromium';

/** A skip reason when no Chromium is installed (scripts/install-test-programs.sh installs it). */
export const skipWithoutChromium: string | false = existsSync(CHROMIUM)
  ? false
  : `no Chromium at ${CHROMIUM}: run scripts/install-test-programs.sh (or set SKELPRUNE_CHROMIUM)`;

/** Flags that keep Chromium off the network (closed here) and quiet in a container. */
export const QUIET_CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: QUIET_CHROMIUM_FLAGS });
}

/** Fraction of pixels of an RGBA image that are not (near) white. */
export function inkFraction(data: Uint8Array | Uint8ClampedArray, channels: number): number {
  let ink = 0;
  const pixels = data.length / channels;
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240) ink++;
  }
  return ink / pixels;
}
