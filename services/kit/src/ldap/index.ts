/**
 * LDAP names and filters (RFC 4514 DNs, RFC 4515 filters), shared by connector-ldap, which reads
 * the directory with them, and the sync service, which checks a directory's settings with the
 * same parsers at create/update so that the API refuses what the connector would refuse later.
 * A subpath of its own (`@dirsync/kit/ldap`) because the filter check loads ldapts.
 */
export * from './dn.js';
export * from './filter.js';
