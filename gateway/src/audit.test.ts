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

  it('hides the user info of URLs in any string, keeps the rest of the URL and other @s', () => {
    expect(
      redact({
        ldap: {
          url: 'ldap://cn=admin:S3cret@127.0.0.1:389',
          bindDn: 'svc@corp.example',
        },
        note: 'see LDAPS://u:p@dc1.corp:636/dc=corp and https://h/x@y',
      }),
    ).toEqual({
      ldap: { url: 'ldap://[redacted]@127.0.0.1:389', bindDn: 'svc@corp.example' },
      note: 'see LDAPS://[redacted]@dc1.corp:636/dc=corp and https://h/x@y',
    });
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
