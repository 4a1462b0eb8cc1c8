// LDAPS and StartTLS against a real slapd with certificates made here by openssl: the server is
// verified against the configured CA (and host name); anything else is TLS_ERROR.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import type { ConnectorHarness } from '@dirsync/kit/conformance';
import { startSlapd, type Slapd } from '@dirsync/testkit';
import {
  GROUPS,
  PEOPLE,
  directoryConfig,
  group,
  ldapHarness,
  ldif,
  newDirectoryId,
  person,
} from './helpers.js';
import { makeCa, makeServerCert } from './certs.js';

const ALL = `cn=all,${GROUPS}`;
const DATA = ldif(person({ uid: 'alice' }), group('all', [`uid=alice,${PEOPLE}`]));

const codeOf = (code: ErrorCode | undefined) => errorCodeName(code ?? ErrorCode.UNSPECIFIED);

describe('TLS', () => {
  let dir: string;
  let slapd: Slapd;
  let wrongName: Slapd;
  let plain: Slapd;
  let h: ConnectorHarness;
  let caPem: string;
  let otherCaPem: string;

  const run = async (server: Slapd, settings: Record<string, unknown>) => {
    const id = newDirectoryId();
    h.setConfig(
      id,
      directoryConfig(server, [ALL], { settings: { timeoutMs: 5_000, ...settings } }),
    );
    return h.run({ directoryId: id });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dirsync-tls-'));
    makeCa(dir, 'good');
    makeCa(dir, 'other');
    makeServerCert(dir, 'good', 'server', 'IP:127.0.0.1,DNS:localhost');
    makeServerCert(dir, 'good', 'misnamed', 'DNS:ldap.test.invalid');
    caPem = readFileSync(join(dir, 'good-ca.pem'), 'utf8');
    otherCaPem = readFileSync(join(dir, 'other-ca.pem'), 'utf8');
    const tls = (name: string) => ({
      certFile: join(dir, `${name}.pem`),
      keyFile: join(dir, `${name}.key`),
      caFile: join(dir, 'good-ca.pem'),
    });
    slapd = await startSlapd({ name: 'tls', ldif: DATA, tls: tls('server') });
    wrongName = await startSlapd({ name: 'tls-misnamed', ldif: DATA, tls: tls('misnamed') });
    plain = await startSlapd({ name: 'tls-plain', ldif: DATA });
    h = await ldapHarness();
  });

  afterAll(async () => {
    await h?.close();
    await slapd?.dispose();
    await wrongName?.dispose();
    await plain?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads over LDAPS, verifying the server with the configured CA', async () => {
    const r = await run(slapd, { url: slapd.ldapsUrl, tlsCaPem: caPem });
    expect(r.outcome.error).toBeUndefined();
    expect(r.completed?.usersObserved).toBe(1);
  });

  it('reads over StartTLS, verifying the server with the configured CA', async () => {
    const r = await run(slapd, { url: slapd.url, startTls: true, tlsCaPem: caPem });
    expect(r.outcome.error).toBeUndefined();
    expect(r.completed?.usersObserved).toBe(1);
  });

  it('checks the host name too: "localhost" is in the certificate', async () => {
    const url = slapd.ldapsUrl?.replace('127.0.0.1', 'localhost');
    const r = await run(slapd, { url, tlsCaPem: caPem });
    expect(r.outcome.error).toBeUndefined();
  });

  it('LDAPS with a CA that did not sign the certificate → TLS_ERROR naming the server', async () => {
    const r = await run(slapd, { url: slapd.ldapsUrl, tlsCaPem: otherCaPem });
    expect(codeOf(r.failed?.error?.code)).toBe('TLS_ERROR');
    expect(r.failed?.error?.message).toContain(slapd.ldapsUrl?.replace('ldaps://', ''));
    expect(r.completed).toBeUndefined();
  });

  it('StartTLS with a CA that did not sign the certificate → TLS_ERROR', async () => {
    const r = await run(slapd, { url: slapd.url, startTls: true, tlsCaPem: otherCaPem });
    expect(codeOf(r.failed?.error?.code)).toBe('TLS_ERROR');
  });

  it('LDAPS without a CA (system trust store) → TLS_ERROR', async () => {
    const r = await run(slapd, { url: slapd.ldapsUrl });
    expect(codeOf(r.failed?.error?.code)).toBe('TLS_ERROR');
  });

  it('a certificate for another host name → TLS_ERROR', async () => {
    const r = await run(wrongName, { url: wrongName.ldapsUrl, tlsCaPem: caPem });
    expect(codeOf(r.failed?.error?.code)).toBe('TLS_ERROR');
    const s = await run(wrongName, { url: wrongName.url, startTls: true, tlsCaPem: caPem });
    expect(codeOf(s.failed?.error?.code)).toBe('TLS_ERROR');
  });

  it('accepts an unverifiable certificate only with tlsRejectUnauthorized: false', async () => {
    const r = await run(slapd, {
      url: slapd.ldapsUrl,
      tlsCaPem: otherCaPem,
      tlsRejectUnauthorized: false,
    });
    expect(r.outcome.error).toBeUndefined();
  });

  it('StartTLS against a server without TLS → TLS_ERROR', async () => {
    const r = await run(plain, { url: plain.url, startTls: true, tlsCaPem: caPem });
    expect(codeOf(r.failed?.error?.code)).toBe('TLS_ERROR');
  });

  it('ldaps:// to a plain LDAP port → SOURCE_UNREACHABLE (the handshake fails)', async () => {
    const r = await run(plain, { url: plain.url.replace('ldap://', 'ldaps://'), tlsCaPem: caPem });
    expect(codeOf(r.failed?.error?.code)).toBe('SOURCE_UNREACHABLE');
  });
});
