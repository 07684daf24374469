import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which kind of key: virtual keys call models, admin keys manage the gateway. */
export type KeyKind = 'virtual' | 'admin';

/** Key prefixes (SPEC §2.5): `bw_…` for virtual keys, `bwa_…` for admin keys. */
export const KEY_PREFIXES: Readonly<Record<KeyKind, string>> = Object.freeze({ virtual: 'bw_', admin: 'bwa_' });

/** File in the data directory holding the generated pepper (SPEC SEC-4). */
export const PEPPER_FILE_NAME = 'secret';

const KEY_BYTES = 32;
/** Characters of the secret part kept in `prefix`: enough to tell keys apart, far too few to guess the rest. */
const VISIBLE_CHARACTERS = 8;
const MIN_PEPPER_LENGTH = 16;
// Generated keys have 43 characters after the prefix; operator-chosen admin keys may differ, within reason.
const KEY_FORMAT = /^bwa?_[A-Za-z0-9_-]{16,128}$/;

/** A new key: its prefix plus 32 random bytes in base64url (SPEC MT-13). */
export function generateKey(kind: KeyKind): string {
  return KEY_PREFIXES[kind] + randomBytes(KEY_BYTES).toString('base64url');
}

/** The kind a well-formed key claims, or undefined for anything that cannot be a Breakwater key. */
export function keyKindOf(key: string): KeyKind | undefined {
  if (!KEY_FORMAT.test(key)) return undefined;
  return key.startsWith(KEY_PREFIXES.admin) ? 'admin' : 'virtual';
}

/** The key as stored: HMAC-SHA-256 with the pepper, hex. A leaked database yields no usable key. */
export function hashKey(key: string, pepper: Buffer): string {
  return createHmac('sha256', pepper).update(key, 'utf8').digest('hex');
}

/** The shown part of a key (`bw_AbC12345`), safe in lists, logs and the admin UI. */
export function keyPrefix(key: string): string {
  const kind = keyKindOf(key) ?? (key.startsWith(KEY_PREFIXES.admin) ? 'admin' : 'virtual');
  return key.slice(0, KEY_PREFIXES[kind].length + VISIBLE_CHARACTERS);
}

/** Constant-time equality of two hex digests; false (not a throw) when lengths differ. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/**
 * The pepper for key hashes (SPEC SEC-4): `BREAKWATER_KEY_PEPPER` if set, else `<dataDir>/secret`,
 * created with 64 random hex characters and mode 0600 on first start. Both are used as the same
 * UTF-8 text, so `BREAKWATER_KEY_PEPPER=$(cat .breakwater/secret)` keeps existing keys valid.
 */
export function loadOrCreatePepper(dataDir: string, env: NodeJS.ProcessEnv = process.env): Buffer {
  const fromEnv = env.BREAKWATER_KEY_PEPPER;
  if (fromEnv !== undefined && fromEnv !== '') return checkedPepper(fromEnv, 'BREAKWATER_KEY_PEPPER');
  const path = join(dataDir, PEPPER_FILE_NAME);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // 'wx' fails if the file exists, so two processes starting together cannot overwrite each other's pepper.
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    // A secret copied in by hand may be readable by others; tightening it is best effort since
    // the file may belong to another user on a read-only mount.
    chmodSync(path, 0o600);
  } catch {}
  return checkedPepper(readFileSync(path, 'utf8'), path);
}

function checkedPepper(text: string, source: string): Buffer {
  const pepper = text.trim();
  if (pepper.length < MIN_PEPPER_LENGTH) {
    throw new Error(`the key pepper from ${source} is shorter than ${MIN_PEPPER_LENGTH} characters; use a long random value (e.g. openssl rand -hex 32)`);
  }
  return Buffer.from(pepper, 'utf8');
}
