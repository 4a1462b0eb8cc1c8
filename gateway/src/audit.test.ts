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
