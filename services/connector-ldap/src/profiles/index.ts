import { ErrorCode } from '@dirsync/proto';
import { DirsyncError } from '@dirsync/kit';
import { activeDirectoryProfile } from './activedirectory.js';
import { openLdapProfile } from './openldap.js';
import type { LdapProfile } from './profile.js';

export type { LdapProfile } from './profile.js';
export { openLdapProfile } from './openldap.js';
export {
  activeDirectoryProfile,
  formatGuid,
  formatSid,
  isAccountDisabled,
  ACCOUNTDISABLE,
} from './activedirectory.js';

/** The profile a directory's `profile` setting names. */
export function profileFor(name: 'openldap' | 'activedirectory'): LdapProfile {
  if (name === 'openldap') return openLdapProfile;
  if (name === 'activedirectory') return activeDirectoryProfile;
  throw new DirsyncError(ErrorCode.CONFIG_INVALID, `profile "${String(name)}" is not known`);
}
