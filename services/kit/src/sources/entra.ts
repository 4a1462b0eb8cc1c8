import { z } from 'zod';
import { caPem } from './pem.js';
import { serverUrl } from './url.js';

/** Login (authority host) and Microsoft Graph endpoints of each Microsoft cloud. */
export const ENTRA_CLOUDS = {
  global: {
    loginUrl: 'https://login.microsoftonline.com',
    graphUrl: 'https://graph.microsoft.com',
  },
  usgov: { loginUrl: 'https://login.microsoftonline.us', graphUrl: 'https://graph.microsoft.us' },
  usgovdod: {
    loginUrl: 'https://login.microsoftonline.us',
    graphUrl: 'https://dod-graph.microsoft.us',
  },
  china: {
    loginUrl: 'https://login.chinacloudapi.cn',
    graphUrl: 'https://microsoftgraph.chinacloudapi.cn',
  },
} as const;
export type EntraCloud = keyof typeof ENTRA_CLOUDS;

/** Graph user properties that may hold a directory's username. */
export const ENTRA_USERNAME_ATTRIBUTES = [
  'userPrincipalName',
  'mail',
  'onPremisesSamAccountName',
] as const;

/** A Graph property name (`givenName`, `extension_<app>_costCenter`). */
export const GRAPH_PROPERTY_RE = /^[A-Za-z][A-Za-z0-9_]{0,119}$/;

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A tenant: its id (GUID) or one of its verified domain names (`contoso.onmicrosoft.com`). */
const TENANT_RE =
  /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$/i;

export function isGuid(v: string): boolean {
  return GUID_RE.test(v);
}

/** `https://host[:port]` (no user info, path, query or fragment), stored without a trailing "/". */
const httpsUrl = serverUrl(['https']).transform((u) => u.trim().replace(/\/+$/, ''));

/**
 * Settings of a Microsoft Entra ID directory, read through Microsoft Graph with an app
 * registration's client credentials. The client secret or certificate is not here: it is a
 * secret (`clientSecret` or `clientCertificate`), stored encrypted and sent only in the config
 * reply. Validated by the sync service on create/update and by connector-entra at every run.
 */
export const entraSettingsSchema = z
  .object({
    /** Directory (tenant) id, or a verified domain of the tenant. */
    tenantId: z.string().regex(TENANT_RE, 'must be a tenant id (GUID) or domain name'),
    /** Application (client) id of the app registration. */
    clientId: z.string().regex(GUID_RE, 'must be an application (client) id (GUID)'),
    /** Which secret authenticates the app: `clientSecret` or `clientCertificate` (PEM key + cert). */
    credential: z.enum(['clientSecret', 'clientCertificate']).default('clientSecret'),
    /** The Microsoft cloud; decides the default login and Graph URLs. */
    cloud: z.enum(['global', 'usgov', 'usgovdod', 'china']).default('global'),
    /** Overrides the cloud's login URL (authority host), e.g. for a test fake. */
    loginUrl: httpsUrl.optional(),
    /** Overrides the cloud's Microsoft Graph URL. */
    graphUrl: httpsUrl.optional(),
    /** PEM CA certificate(s) to verify the login and Graph hosts with, besides the system store. */
    tlsCaPem: caPem().optional(),
    /** Objects per Graph page (`$top`, 1–999). */
    pageSize: z.number().int().min(1).max(999).default(999),
    /** Per-request timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict();

export type EntraSettings = z.infer<typeof entraSettingsSchema>;

/** The login and Graph URLs a directory's settings resolve to. */
export function entraEndpoints(s: Pick<EntraSettings, 'cloud' | 'loginUrl' | 'graphUrl'>): {
  loginUrl: string;
  graphUrl: string;
} {
  const cloud = ENTRA_CLOUDS[s.cloud];
  return { loginUrl: s.loginUrl ?? cloud.loginUrl, graphUrl: s.graphUrl ?? cloud.graphUrl };
}
