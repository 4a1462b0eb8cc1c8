import { SOURCE_MAPPING_DEFAULTS } from '@dirsync/kit';
import type { LdapProfile } from './profile.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * OpenLDAP (and RFC 4530 servers generally): `entryUUID` ids, inetOrgPerson/posixAccount users,
 * groupOfNames/groupOfUniqueNames/posixGroup groups. OpenLDAP has no standard "disabled" flag;
 * locked-out (ppolicy) is never imported as a status, so nobody is disabled.
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
  statusAttributes: [],
  isDisabled: () => false,
  caseIgnoreAllDnValues: false,
};
