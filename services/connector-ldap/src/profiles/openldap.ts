import { SOURCE_MAPPING_DEFAULTS } from '@dirsync/kit';
import type { LdapProfile } from './profile.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ppolicy's value for "locked until an administrator unlocks it" (draft-behera-ldap-password-policy). */
export const PERMANENTLY_LOCKED = '000001010000Z';

const MS_PER_DAY = 86_400_000;

/**
 * Whether an OpenLDAP (or 389 DS / FreeIPA) user entry is disabled, from the attributes an
 * administrator sets to switch an account off — LDAP has no single standard flag:
 *
 * - `shadowExpire` (RFC 2307 shadowAccount): the day, counted from 1970-01-01, on which the
 *   account expires; expired from that day on, as `shadow(5)` and pam_unix read it. 0 and -1
 *   (or nothing) mean never, like AD's `accountExpires` 0 / never.
 * - `pwdAccountLockedTime` = `000001010000Z` (ppolicy): locked until an administrator unlocks
 *   it. Any other time is a lockout after failed logins, which is never imported as a status.
 * - `nsAccountLock: TRUE` (389 DS, FreeIPA).
 */
export function isOpenLdapAccountDisabled(
  get: (attribute: string) => readonly (string | Buffer)[],
  now: Date,
): boolean {
  const text = (attribute: string): string[] =>
    get(attribute).flatMap((v) => (typeof v === 'string' ? [v.trim()] : []));
  const expire = text('shadowExpire')[0];
  if (expire !== undefined && /^\d+$/.test(expire)) {
    const day = Number(expire);
    if (day > 0 && day <= Math.floor(now.getTime() / MS_PER_DAY)) return true;
  }
  if (text('pwdAccountLockedTime').includes(PERMANENTLY_LOCKED)) return true;
  return text('nsAccountLock').some((v) => v.toUpperCase() === 'TRUE');
}

/**
 * OpenLDAP (and RFC 4530 servers generally): `entryUUID` ids, inetOrgPerson/posixAccount users,
 * groupOfNames/groupOfUniqueNames/posixGroup groups; disabled by an expired `shadowExpire`, a
 * permanent ppolicy lock or `nsAccountLock` ({@link isOpenLdapAccountDisabled}). Servers without
 * those attribute types ignore them in the attribute list.
 */
export const openLdapProfile: LdapProfile = {
  name: 'openldap',
  idAttribute: 'entryUUID',
  binaryAttributes: [],
  readId(value) {
    if (typeof value !== 'string') return undefined;
    const v = value.trim().toLowerCase();
    return UUID.test(v) ? v : undefined;
  },
  decodeBinary: () => undefined,
  userObjectFilter: '(|(objectClass=person)(objectClass=posixAccount)(objectClass=account))',
  groupObjectFilter:
    '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=posixGroup))',
  memberDnAttributes: ['member', 'uniqueMember'],
  memberUidAttribute: 'memberUid',
  memberUidUserAttribute: 'uid',
  rangedMembers: false,
  primaryGroup: undefined,
  maxPageSize: undefined,
  groupNameAttribute: 'cn',
  groupDescriptionAttribute: 'description',
  defaults: SOURCE_MAPPING_DEFAULTS.openldap,
  statusAttributes: ['shadowExpire', 'pwdAccountLockedTime', 'nsAccountLock'],
  isDisabled: isOpenLdapAccountDisabled,
  caseIgnoreAllDnValues: false,
};
