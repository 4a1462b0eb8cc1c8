import { describe, expect, it } from 'vitest';
import { ErrorCode, errorCodeName } from '@dirsync/proto';
import {
  InsufficientAccessError,
  InvalidCredentialsError,
  NoSuchObjectError,
  SizeLimitExceededError,
  TimeLimitExceededError,
  UnavailableError,
  UnwillingToPerformError,
  ProtocolError,
} from 'ldapts';
import { translateLdapError, type LdapErrorContext } from './errors.js';

const ctx = (
  phase: LdapErrorContext['phase'],
  extra: Partial<LdapErrorContext> = {},
): LdapErrorContext => ({
  phase,
  server: 'ldap.example.org:636',
  bindDn: 'cn=reader,dc=example,dc=org',
  base: 'ou=people,dc=example,dc=org',
  what: 'users',
  ...extra,
});

const sys = (code: string, message = code) => Object.assign(new Error(message), { code });
const name = (e: { code: ErrorCode }) => errorCodeName(e.code);

describe('#translateLdapError()', () => {
  it.each([
    [new InvalidCredentialsError(), 'bind', 'INVALID_CREDENTIALS', 'cn=reader,dc=example,dc=org'],
    [new NoSuchObjectError(), 'read', 'BASE_DN_NOT_FOUND', 'ou=people,dc=example,dc=org'],
    [new SizeLimitExceededError(), 'read', 'SIZE_LIMIT_EXCEEDED', 'ou=people,dc=example,dc=org'],
    [new TimeLimitExceededError(), 'read', 'SIZE_LIMIT_EXCEEDED', 'never accepts a truncated'],
    [new InsufficientAccessError(), 'read', 'INSUFFICIENT_ACCESS', 'cn=reader,dc=example,dc=org'],
    [new UnavailableError(), 'read', 'SOURCE_UNAVAILABLE', 'ldap.example.org:636'],
    [new UnwillingToPerformError(), 'bind', 'INVALID_CREDENTIALS', 'cn=reader'],
    [new UnwillingToPerformError(), 'read', 'SOURCE_ERROR', 'ldap.example.org:636'],
    [new ProtocolError(), 'starttls', 'TLS_ERROR', 'StartTLS'],
  ] as const)('maps %s during %s to %s', (err, phase, code, mentions) => {
    const e = translateLdapError(err, ctx(phase));
    expect(name(e)).toBe(code);
    expect(e.message).toContain(mentions);
    expect(e.cause).toBe(err);
  });

  it.each([
    ['ECONNREFUSED', 'connection was refused'],
    ['ENOTFOUND', 'does not resolve'],
    ['ETIMEDOUT', 'timed out'],
    ['EHOSTUNREACH', 'unreachable'],
  ])('maps a %s while connecting to SOURCE_UNREACHABLE naming host:port', (code, why) => {
    const e = translateLdapError(sys(code), ctx('bind'));
    expect(name(e)).toBe('SOURCE_UNREACHABLE');
    expect(e.message).toContain('ldap.example.org:636');
    expect(e.message).toContain(why);
  });

  it('maps a connect timeout (no code) to SOURCE_UNREACHABLE', () => {
    expect(name(translateLdapError(new Error('Connection timeout'), ctx('connect')))).toBe(
      'SOURCE_UNREACHABLE',
    );
  });

  it.each([
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'CERT_HAS_EXPIRED',
  ])('maps certificate failure %s to TLS_ERROR in any phase', (code) => {
    for (const phase of ['connect', 'starttls', 'bind'] as const) {
      const e = translateLdapError(sys(code), ctx(phase));
      expect(name(e)).toBe('TLS_ERROR');
      expect(e.message).toContain('tlsCaPem');
    }
  });

  it('maps another TLS handshake failure to SOURCE_UNREACHABLE', () => {
    const e = translateLdapError(sys('ERR_SSL_WRONG_VERSION_NUMBER'), ctx('bind'));
    expect(name(e)).toBe('SOURCE_UNREACHABLE');
    expect(e.message).toContain('TLS handshake');
  });

  it('maps a connection lost while reading to SOURCE_UNAVAILABLE', () => {
    for (const err of [
      new Error('Connection closed before message response was received.'),
      sys('ECONNRESET'),
      new Error('SearchRequest: Operation timed out'),
    ]) {
      const e = translateLdapError(err, ctx('read'));
      expect(name(e)).toBe('SOURCE_UNAVAILABLE');
      expect(e.message).toContain('ldap.example.org:636');
      expect(e.message).toContain('users');
    }
  });

  it('keeps a DirsyncError as it is', () => {
    const original = translateLdapError(new InvalidCredentialsError(), ctx('bind'));
    expect(translateLdapError(original, ctx('read'))).toBe(original);
  });
});
