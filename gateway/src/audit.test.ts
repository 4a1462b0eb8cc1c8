import { describe, expect, it } from 'vitest';
import { outcomeOf, redact } from './audit.js';

describe('redact()', () => {
  it('replaces secret-named values at any depth, keeps the rest', () => {
    expect(
      redact({
        input: {
          name: 'Corp',
          bindPassword: 'p',
          entra: { clientSecret: 's', clientCertificate: 'c', tenantId: 't' },
          ldap: { tlsCaPem: 'pem', url: 'ldap://x' },
          list: [{ token: 'x', keep: 1 }],
          key: 'k',
          keyId: 'not a secret name',
        },
      }),
    ).toEqual({
      input: {
        name: 'Corp',
        bindPassword: '[redacted]',
        entra: { clientSecret: '[redacted]', clientCertificate: '[redacted]', tenantId: 't' },
        ldap: { tlsCaPem: '[redacted]', url: 'ldap://x' },
        list: [{ token: '[redacted]', keep: 1 }],
        key: '[redacted]',
        keyId: 'not a secret name',
      },
    });
  });

  it('hides whatever could be the user info of a URL, in any form', () => {
    const hidden = (url: string) => (redact({ url }) as { url: string }).url;
    expect(hidden('ldap://cn=admin:S3cret@127.0.0.1:389')).toBe('ldap://[redacted]@127.0.0.1:389');
    // A password with "@", a space, "/", "#" or "?"; a mangled scheme; no scheme at all.
    expect(hidden('ldap://cn=admin:p@ss1word@127.0.0.1:3894')).toBe(
      'ldap://[redacted]@127.0.0.1:3894',
    );
    expect(hidden('ldap://cn=admin:pa ss3word@h:1')).toBe('ldap://[redacted]@h:1');
    expect(hidden('ldap://cn=admin:pa/ss2word@h')).toBe('ldap://[redacted]@h');
    expect(hidden('ldap://cn=admin:Pa#ss7word@h')).toBe('ldap://[redacted]@h');
    expect(hidden('ldap://cn=admin:Pa?ss8word@h')).toBe('ldap://[redacted]@h');
    expect(hidden('ldap:/cn=admin:Pass4word@h')).toBe('ldap:/[redacted]@h');
    expect(hidden('ldap:\\\\cn=admin:Pass6word@h')).toBe('ldap:\\\\[redacted]@h');
    expect(hidden('LDAPS://u:p@dc1.corp:636')).toBe('LDAPS://[redacted]@dc1.corp:636');
    expect(hidden('cn=admin:Pass5word@127.0.0.1:3894')).toBe('[redacted]@127.0.0.1:3894');
    // No ":" before the "@": a bind DN, an e-mail, a host with a port.
    for (const kept of [
      'svc@corp.example',
      'CN=svc@corp,DC=corp',
      'user@host:389',
      'ldap://h:389',
    ]) {
      expect(hidden(kept)).toBe(kept);
    }
  });

  it('keeps nulls (nothing to hide) and shortens huge strings', () => {
    expect(redact({ bindPassword: null })).toEqual({ bindPassword: null });
    expect((redact({ name: 'x'.repeat(5_000) }) as { name: string }).name).toHaveLength(2_001);
  });
});

describe('outcomeOf()', () => {
  it('tells refusals from failures', () => {
    expect(outcomeOf([])).toBe('OK');
    expect(outcomeOf(['NOT_FOUND'])).toBe('ERROR');
    expect(outcomeOf(['FORBIDDEN'])).toBe('DENIED');
    expect(outcomeOf(['QUERY_TOO_COMPLEX'])).toBe('DENIED');
  });
});
