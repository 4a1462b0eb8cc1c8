import { z } from 'zod';
import { caPem } from './pem.js';
import { serverUrl } from './url.js';

/**
 * Settings of an LDAP directory (OpenLDAP now; Active Directory is a `profile`). Validated by the
 * sync service when a directory is created or updated, and again by connector-ldap when it picks
 * a job up. The bind password is not here: it is a secret, stored encrypted and sent only in the
 * config reply.
 */
export const ldapSettingsSchema = z
  .object({
    /** `ldap://host:port` or `ldaps://host:port`: no user info, path, query or fragment. */
    url: serverUrl(['ldap', 'ldaps']),
    /** Source profile: decides defaults (attributes, object classes, id attribute). */
    profile: z.enum(['openldap', 'activedirectory']).default('openldap'),
    bindDn: z.string().min(1, 'bindDn is required'),
    /** Root of everything the connector may read. */
    baseDn: z.string().min(1, 'baseDn is required'),
    /** Where users live (defaults to baseDn). */
    userBaseDn: z.string().optional(),
    /** Where groups live (defaults to baseDn). */
    groupBaseDn: z.string().optional(),
    /** Extra LDAP filter ANDed to user searches, e.g. `(employeeType=staff)`. */
    userFilter: z.string().optional(),
    /** Upgrade an ldap:// connection with StartTLS. */
    startTls: z.boolean().default(false),
    /** PEM CA certificate(s) to verify the server with; the system store is used otherwise. */
    tlsCaPem: caPem().optional(),
    /** Turning this off accepts any certificate: only for tests and emergencies. */
    tlsRejectUnauthorized: z.boolean().default(true),
    /**
     * Active Directory only: allow a plain `ldap://` connection without StartTLS, which sends
     * the bind password in clear. Off by default; an AD directory needs `ldaps://` or `startTls`
     * unless this is set.
     */
    allowPlainLdap: z.boolean().default(false),
    /** Entries per page of a paged search (RFC 2696). */
    pageSize: z.number().int().min(1).max(10_000).default(1000),
    /** Per-operation timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (
      s.profile === 'activedirectory' &&
      /^ldap:\/\//i.test(s.url) &&
      !s.startTls &&
      !s.allowPlainLdap
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message:
          'plain ldap:// would send the bind password in clear: use ldaps://, set startTls, or set allowPlainLdap to accept that',
      });
    }
  });

export type LdapSettings = z.infer<typeof ldapSettingsSchema>;

/** At most this many selected groups per directory. */
export const MAX_SELECTED_GROUPS = 400;
/** At most this many alias attributes. */
export const MAX_ALIAS_ATTRIBUTES = 4;
