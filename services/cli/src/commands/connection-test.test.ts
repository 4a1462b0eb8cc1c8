import { describe, expect, it } from 'vitest';
import { formatConnectionTest, type ConnectionTest } from './connection-test.js';

const check = (
  name: string,
  status: 'OK' | 'FAILED' | 'SKIPPED',
  message: string,
  target: string | null = null,
  code: string | null = null,
) => ({ name, status, message, target, code, durationMs: 1 });

describe('formatConnectionTest', () => {
  it('a summary line, then one aligned line per check; failures with their code', () => {
    const t: ConnectionTest = {
      ok: false,
      directoryId: 'd1',
      kind: 'LDAP',
      durationMs: 1500,
      testedAt: '2026-12-04T06:00:00Z',
      checks: [
        check('REACH', 'OK', 'h:389 accepts connections', 'h:389'),
        check('BIND', 'FAILED', 'h:389 rejected the bind DN "cn=a"', 'cn=a', 'INVALID_CREDENTIALS'),
        check('GROUP', 'SKIPPED', 'needs a successful bind', 'cn=g,dc=x'),
      ],
    };
    expect(formatConnectionTest(t, 'connection test of "X"')).toBe(
      [
        'connection test of "X" (LDAP): 1 of 3 checks FAILED (1.5 s)',
        '  ok       REACH  h:389 accepts connections',
        '  FAILED   BIND   INVALID_CREDENTIALS: h:389 rejected the bind DN "cn=a"',
        '  skipped  GROUP  needs a successful bind (cn=g,dc=x)',
        '',
      ].join('\n'),
    );
  });
  it('says how many passed and how many were skipped when none failed', () => {
    const t: ConnectionTest = {
      ok: true,
      directoryId: 'd1',
      kind: 'LDAP',
      durationMs: 5,
      testedAt: '2026-12-04T06:00:00Z',
      checks: [
        check('REACH', 'OK', 'h:389 accepts connections'),
        check('TLS', 'SKIPPED', 'ldap:// without StartTLS'),
        check('BIND', 'OK', 'bound'),
      ],
    };
    expect(formatConnectionTest(t, 't').split('\n')[0]).toBe(
      't (LDAP): 2 checks passed, 1 skipped in 5 ms',
    );
  });
  it('says how many passed when all did', () => {
    const t: ConnectionTest = {
      ok: true,
      directoryId: null,
      kind: 'ENTRA',
      durationMs: 80,
      testedAt: '2026-12-04T06:00:00Z',
      checks: [check('TOKEN', 'OK', 'issued'), check('API', 'OK', 'accepted')],
    };
    expect(formatConnectionTest(t, 't').split('\n')[0]).toBe(
      't (ENTRA): all 2 checks passed in 80 ms',
    );
  });
});
