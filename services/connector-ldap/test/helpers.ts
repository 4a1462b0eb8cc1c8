// Shared fixtures of connector-ldap's integration tests: LDIF builders, a harness wired to the
// real LDAP connector, and the directory configuration for a testkit slapd.
import type { LdapSettings, Logger } from '@dirsync/kit';
import {
  startConnectorHarness,
  type ConnectorHarness,
  type HarnessConfig,
} from '@dirsync/kit/conformance';
import { formatLdifEntry, natsNamespace, natsUrl, type Slapd } from '@dirsync/testkit';
import { createLdapConnector, type LdapConnectorOptions } from '../src/index.js';

export const SUFFIX = 'dc=example,dc=org';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;

export interface PersonSpec {
  /** RDN value (uid=… unless `rdn` says otherwise). */
  uid?: string;
  cn?: string;
  sn?: string;
  /** Full DN override. */
  dn?: string;
  attrs?: Record<string, string | string[]>;
  objectClasses?: string[];
}

/** An inetOrgPerson entry; the DN is `uid=<uid>,ou=people,…` unless given. */
export function person(spec: PersonSpec): { dn: string; ldif: string } {
  const dn = spec.dn ?? `uid=${spec.uid},${PEOPLE}`;
  const attributes: Record<string, string[]> = {
    objectClass: spec.objectClasses ?? ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
    cn: [spec.cn ?? spec.uid ?? 'nobody'],
    sn: [spec.sn ?? 'Test'],
  };
  if (spec.uid !== undefined) attributes.uid = [spec.uid];
  for (const [k, v] of Object.entries(spec.attrs ?? {})) {
    attributes[k] = Array.isArray(v) ? v : [v];
  }
  return { dn, ldif: formatLdifEntry({ dn, attributes }) };
}

/** A groupOfNames (or another group class) entry under ou=groups. */
export function group(
  cn: string,
  members: string[],
  opts: {
    objectClass?: 'groupOfNames' | 'groupOfUniqueNames' | 'posixGroup';
    dn?: string;
    attrs?: Record<string, string[]>;
  } = {},
): { dn: string; ldif: string } {
  const dn = opts.dn ?? `cn=${cn},${GROUPS}`;
  const oc = opts.objectClass ?? 'groupOfNames';
  const attributes: Record<string, string[]> = { objectClass: ['top', oc], cn: [cn] };
  if (oc === 'groupOfNames') attributes.member = members;
  if (oc === 'groupOfUniqueNames') attributes.uniqueMember = members;
  if (oc === 'posixGroup') {
    attributes.gidNumber = ['5000'];
    attributes.memberUid = members;
  }
  Object.assign(attributes, opts.attrs ?? {});
  return { dn, ldif: formatLdifEntry({ dn, attributes }) };
}

export function ldif(...entries: { ldif: string }[]): string {
  return entries.map((e) => e.ldif).join('\n\n') + '\n';
}

export function ldapSettings(
  slapd: Slapd,
  overrides: Partial<LdapSettings> = {},
): Partial<LdapSettings> {
  return {
    url: slapd.url,
    bindDn: slapd.rootDn,
    baseDn: slapd.suffix,
    userBaseDn: slapd.peopleDn,
    groupBaseDn: slapd.groupsDn,
    ...overrides,
  };
}

/** The harness config for a slapd with the given groups selected. */
export function directoryConfig(
  slapd: Slapd,
  selectedGroups: string[],
  overrides: Partial<HarnessConfig> & { settings?: Partial<LdapSettings> } = {},
): HarnessConfig {
  return {
    defaultRegion: 'US',
    ...overrides,
    settings: ldapSettings(slapd, overrides.settings),
    secrets: overrides.secrets ?? { bindPassword: slapd.rootPassword },
    selectedGroups,
    mapping: { username: 'uid', ...(overrides.mapping ?? {}) },
  };
}

export async function ldapHarness(
  opts: {
    batchSize?: number;
    connector?: LdapConnectorOptions;
    stopGraceMs?: number;
    logger?: Logger;
  } = {},
): Promise<ConnectorHarness> {
  return startConnectorHarness({
    connector: createLdapConnector(opts.connector),
    natsUrl: natsUrl(),
    namespace: natsNamespace(),
    batchSize: opts.batchSize,
    stopGraceMs: opts.stopGraceMs,
    logger: opts.logger,
  });
}

let counter = 0;
/** A fresh directory id per test, so events of different tests never share a subject. */
export function newDirectoryId(): string {
  counter++;
  return `dir-${process.pid}-${Date.now().toString(36)}-${counter}`;
}
