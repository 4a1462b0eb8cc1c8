import type { MappingDefaults } from '@dirsync/kit';

/**
 * A source profile: what differs between LDAP servers (OpenLDAP, Active Directory, …) while the
 * connector's algorithm stays the same. Everything server-specific the connector reads goes
 * through this seam, so Active Directory (objectGUID, ranged `member;range=` retrieval,
 * userAccountControl) is one more file, not a fork.
 */
export interface LdapProfile {
  readonly name: 'openldap' | 'activedirectory';
  /** The attribute holding the immutable id (`entryUUID`; AD `objectGUID`). */
  readonly idAttribute: string;
  /** Attributes to receive as Buffers, never decoded as UTF-8 (AD `objectGUID`, `objectSid`). */
  readonly binaryAttributes: readonly string[];
  /** Turns the id attribute's raw value into the external id string; undefined when unusable. */
  readId(value: string | Buffer | undefined): string | undefined;
  /**
   * Text form of a value of one of {@link binaryAttributes} (AD `objectSid` → `S-1-5-…`), for
   * mapped attributes; undefined when the attribute has no text form.
   */
  decodeBinary(attribute: string, value: Buffer): string | undefined;
  /** Filter selecting user entries (ANDed with the directory's `userFilter`). */
  readonly userObjectFilter: string;
  /** Filter selecting group entries. */
  readonly groupObjectFilter: string;
  /** Group attributes whose values are member DNs (users or nested groups). */
  readonly memberDnAttributes: readonly string[];
  /**
   * Group attribute whose values are usernames (posixGroup `memberUid`), resolved against
   * {@link memberUidUserAttribute} of user entries; undefined when the server has none.
   */
  readonly memberUidAttribute: string | undefined;
  readonly memberUidUserAttribute: string;
  /**
   * True when the server may return a large member attribute in ranges
   * (`member;range=0-1499`), to be completed with further base searches (AD).
   */
  readonly rangedMembers: boolean;
  /**
   * Primary groups (AD): a user's `primaryGroupID` is the RID of a group it belongs to without
   * being listed in that group's `member`. The group's SID is the user's domain SID (its own
   * `objectSid` without the last part) followed by that RID. Undefined when the server has none.
   */
  readonly primaryGroup:
    | {
        sidAttribute: string;
        primaryGroupIdAttribute: string;
        sidOf(value: Buffer): string | undefined;
      }
    | undefined;
  /** The server's largest page (AD MaxPageSize); the configured page size is capped to it. */
  readonly maxPageSize: number | undefined;
  /** Group naming attributes. */
  readonly groupNameAttribute: string;
  readonly groupDescriptionAttribute: string;
  /** Default source attributes of the mapping when the directory leaves a field empty. */
  readonly defaults: MappingDefaults;
  /** Extra user attributes the profile needs to decide disabled-ness. */
  readonly statusAttributes: readonly string[];
  /** Whether a user entry is disabled in the source; `get` reads an attribute's values. */
  isDisabled(get: (attribute: string) => readonly (string | Buffer)[], now: Date): boolean;
  /** Whether every attribute type compares case-insensitively in DNs (AD: yes). */
  readonly caseIgnoreAllDnValues: boolean;
}
