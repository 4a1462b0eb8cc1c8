import { SOURCE_MAPPING_DEFAULTS } from '@dirsync/kit';
import type { LdapProfile } from './profile.js';

/** userAccountControl ACCOUNTDISABLE: the one bit that decides "disabled". */
export const ACCOUNTDISABLE = 0x2;

/** accountExpires values that mean "never": 0 and 0x7FFFFFFFFFFFFFFF. */
const NEVER = new Set(['0', '9223372036854775807']);
/** 100-ns intervals between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;

/**
 * The canonical text form of a 16-byte `objectGUID` (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`,
 * lower case). The first three fields are stored little-endian, the last two as they are, so the
 * bytes are not simply hex-printed in order. Undefined for anything that is not 16 bytes.
 */
export function formatGuid(value: Buffer): string | undefined {
  if (value.length !== 16) return undefined;
  const hex = (start: number, end: number, reverse: boolean) => {
    const bytes = [...value.subarray(start, end)];
    if (reverse) bytes.reverse();
    return bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return [
    hex(0, 4, true),
    hex(4, 6, true),
    hex(6, 8, true),
    hex(8, 10, false),
    hex(10, 16, false),
  ].join('-');
}

/**
 * The `S-1-5-21-…` form of a binary SID (MS-DTYP 2.4.2): revision, sub-authority count, a
 * 48-bit big-endian identifier authority, then 32-bit little-endian sub-authorities.
 */
export function formatSid(value: Buffer): string | undefined {
  if (value.length < 8) return undefined;
  const revision = value[0] as number;
  const count = value[1] as number;
  if (value.length !== 8 + 4 * count) return undefined;
  const authority = value.readUIntBE(2, 6);
  const parts = [`S-${revision}-${authority}`];
  for (let i = 0; i < count; i++) parts.push(String(value.readUInt32LE(8 + 4 * i)));
  return parts.join('-');
}

/**
 * Whether an AD account is disabled: ACCOUNTDISABLE (0x2) in userAccountControl, or an
 * accountExpires (FILETIME, 100 ns since 1601) in the past — 0 and 0x7FFFFFFFFFFFFFFF mean
 * never. Nothing else counts: a locked-out account (lockoutTime, the LOCKOUT bit) is not
 * disabled, and neither is one whose password expired.
 */
export function isAccountDisabled(
  userAccountControl: string | undefined,
  accountExpires: string | undefined,
  now: Date,
): boolean {
  const uac = userAccountControl === undefined ? NaN : Number(userAccountControl.trim());
  if (Number.isInteger(uac) && (uac & ACCOUNTDISABLE) !== 0) return true;
  const expires = accountExpires?.trim();
  if (!expires || NEVER.has(expires) || !/^-?\d+$/.test(expires)) return false;
  const at = BigInt(expires);
  if (at <= 0n) return false;
  const nowFiletime = BigInt(now.getTime()) * 10_000n + FILETIME_UNIX_EPOCH;
  return at <= nowFiletime;
}

const first = (values: readonly (string | Buffer)[]): string | undefined => {
  const v = values[0];
  return typeof v === 'string' ? v : undefined;
};

/**
 * Active Directory (and Samba AD): binary `objectGUID` ids in canonical GUID form,
 * `sAMAccountName` usernames, `user`/`group` objects, ranged `member` values, primary groups by
 * `primaryGroupID`, userAccountControl/accountExpires for disabled-ness, case-insensitive DNs.
 */
export const activeDirectoryProfile: LdapProfile = {
  name: 'activedirectory',
  idAttribute: 'objectGUID',
  binaryAttributes: ['objectGUID', 'objectSid'],
  readId(value) {
    // A GUID that came back as text was UTF-8 decoded and is lost: never guess from it.
    return Buffer.isBuffer(value) ? formatGuid(value) : undefined;
  },
  decodeBinary(attribute, value) {
    const a = attribute.toLowerCase();
    if (a === 'objectguid') return formatGuid(value);
    if (a === 'objectsid') return formatSid(value);
    return undefined;
  },
  // objectCategory=person leaves out computer accounts (objectClass=user too).
  userObjectFilter: '(&(objectCategory=person)(objectClass=user))',
  groupObjectFilter: '(objectClass=group)',
  memberDnAttributes: ['member'],
  memberUidAttribute: undefined,
  memberUidUserAttribute: 'sAMAccountName',
  rangedMembers: true,
  primaryGroup: {
    sidAttribute: 'objectSid',
    primaryGroupIdAttribute: 'primaryGroupID',
    sidOf: formatSid,
  },
  // AD's default MaxPageSize; Samba ignores it, Windows caps every page to it.
  maxPageSize: 1000,
  groupNameAttribute: 'cn',
  groupDescriptionAttribute: 'description',
  defaults: SOURCE_MAPPING_DEFAULTS.activedirectory,
  statusAttributes: ['userAccountControl', 'accountExpires'],
  isDisabled: (get, now) =>
    isAccountDisabled(first(get('userAccountControl')), first(get('accountExpires')), now),
  caseIgnoreAllDnValues: true,
};
