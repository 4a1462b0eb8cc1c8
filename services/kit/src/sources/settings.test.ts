import { describe, expect, it } from 'vitest';
import { caPemProblem } from './pem.js';
import { serverUrlProblem } from './url.js';

/** A test CA certificate (its key was thrown away). */
const CA = [
  '-----BEGIN CERTIFICATE-----',
  'MIIBlTCCATugAwIBAgIUKSJYF7D4W4F/PwrwD0sNYjfm5iowCgYIKoZIzj0EAwIw',
  'HzEdMBsGA1UEAwwUZGlyc3luYyBzeW5jIHRlc3QgQ0EwIBcNMjYxMjA0MDgzMDE5',
  'WhgPMjEyNjExMTAwODMwMTlaMB8xHTAbBgNVBAMMFGRpcnN5bmMgc3luYyB0ZXN0',
  'IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEnFMaaisAg/FL7achYR6TxSev',
  'yaQxtg9ECHAD8z+90wxy0KYKUYnwUxGC6cK1um48alusg6dyEI+ceREPPMo1pqNT',
  'MFEwHQYDVR0OBBYEFPkYeTEvMhWWTKnNiuD3lBDsn9SfMB8GA1UdIwQYMBaAFPkY',
  'eTEvMhWWTKnNiuD3lBDsn9SfMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID',
  'SAAwRQIga1pinJIIQ9wBbSnrmBzwD5aHqaZOcOStQrCknmpnqisCIQDs8wN6idMH',
  'nSGWFIRj6VptrWOTRAqP6susismaJ0zVEg==',
  '-----END CERTIFICATE-----',
].join('\n');

describe('serverUrlProblem()', () => {
  it('takes scheme://host[:port] and nothing else, never repeating the URL', () => {
    for (const ok of [
      'ldap://h',
      'ldaps://h:636',
      'ldap://[::1]:389/',
      'https://login.example.org',
    ]) {
      expect(serverUrlProblem(ok, ['ldap', 'ldaps', 'https'])).toBeUndefined();
    }
    for (const [bad, why] of [
      ['ldap://u:S3cret@h', 'user name or password'],
      ['ldap://S3cret@h', 'user name or password'],
      ['ldap://h/dc=x', 'path'],
      ['ldap://h?x', 'query'],
      ['ldap://h?', 'query'],
      ['ldap://h#x', 'fragment'],
      ['ldap:///', 'host'],
      ['ftp://h', 'must start with'],
      ['h:389', 'must start with'],
      ['not a url', 'is not a URL'],
    ] as const) {
      const problem = serverUrlProblem(bad, ['ldap', 'ldaps']);
      expect(problem, bad).toContain(why);
      expect(problem).not.toContain('S3cret');
    }
  });
});

describe('caPemProblem()', () => {
  it('takes PEM certificates (a bundle, text between blocks), refuses the rest', () => {
    expect(caPemProblem(CA)).toBeUndefined();
    expect(caPemProblem(`issuer=CN = x\n${CA}\n\n${CA}\n`)).toBeUndefined();
    expect(caPemProblem('hello')).toContain('is not PEM');
    expect(caPemProblem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')).toContain(
      'not a valid X.509 certificate',
    );
    expect(caPemProblem(`${CA}\n-----BEGIN X509 CRL-----\nAA==\n-----END X509 CRL-----`)).toContain(
      'block 2 is a X509 CRL block',
    );
    const key = '-----BEGIN EC PRIVATE KEY-----\nS3cretKeyMaterial\n-----END EC PRIVATE KEY-----';
    const problem = caPemProblem(`${CA}\n${key}`);
    expect(problem).toContain('private key');
    expect(problem).not.toContain('S3cret');
  });
});
