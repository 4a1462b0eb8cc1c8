import { existsSync } from 'node:fs';

/**
 * Debian's Chromium (`infra/scripts/lib.sh` ensure_chromium installs it; `npm test` calls that).
 * playwright-core drives it by path: no browser is ever downloaded.
 */
export function chromiumPath(): string {
  const path = process.env.DIRSYNC_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `no Chromium at ${path}: install Debian's chromium (apt-get install chromium; npm test does it) or set DIRSYNC_CHROMIUM`,
    );
  }
  return path;
}

/**
 * Flags for this machine (its network reaches nothing but package registries): no background
 * connections, no component updates, no sync, no QUIC, no GPU, no sandbox (tests run as root).
 * playwright-core adds --headless and a new, empty --user-data-dir of its own.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
