import { ErrorCode } from '@dirsync/proto';
import { DirsyncError } from '@dirsync/kit';
import { openLdapProfile } from './openldap.js';
import type { LdapProfile } from './profile.js';

export type { LdapProfile } from './profile.js';
export { openLdapProfile } from './openldap.js';

/** The profile a directory's `profile` setting names. */
export function profileFor(name: 'openldap' | 'activedirectory'): LdapProfile {
  if (name === 'openldap') return openLdapProfile;
  throw new DirsyncError(
    ErrorCode.CONFIG_INVALID,
    `profile "${name}" is not supported yet by this connector version`,
  );
}
