import { describe, expect, it } from 'vitest';
import { AdminRole } from '@dirsync/proto';
import {
  ADMIN_ROLES,
  adminRoleFromName,
  adminRoleName,
  adminRoleRank,
  emailKey,
  emailProblem,
  sortAdminRoles,
} from './admin-roles.js';

describe('admin roles', () => {
  it('name every proto role, most privileged first', () => {
    expect(ADMIN_ROLES.map(adminRoleFromName)).toEqual([
      AdminRole.OWNER,
      AdminRole.ADMINISTRATOR,
      AdminRole.APPLICATION_MANAGER,
      AdminRole.USER_MANAGER,
      AdminRole.HELP_DESK,
      AdminRole.BILLING,
      AdminRole.PHISHING_MANAGER,
      AdminRole.READ_ONLY,
    ]);
    for (const name of ADMIN_ROLES) expect(adminRoleName(adminRoleFromName(name))).toBe(name);
    expect(adminRoleName(AdminRole.UNSPECIFIED)).toBeUndefined();
    expect(adminRoleName(99 as AdminRole)).toBeUndefined();
  });

  it('rank the highest role first; unknown roles never win', () => {
    expect(
      sortAdminRoles([AdminRole.READ_ONLY, AdminRole.HELP_DESK, AdminRole.OWNER, AdminRole.OWNER]),
    ).toEqual([AdminRole.OWNER, AdminRole.HELP_DESK, AdminRole.READ_ONLY]);
    expect(sortAdminRoles([AdminRole.UNSPECIFIED, 42 as AdminRole, AdminRole.BILLING])).toEqual([
      AdminRole.BILLING,
    ]);
    expect(adminRoleRank(AdminRole.OWNER)).toBeLessThan(adminRoleRank(AdminRole.ADMINISTRATOR));
    expect(adminRoleRank(AdminRole.READ_ONLY)).toBeLessThan(adminRoleRank(AdminRole.UNSPECIFIED));
  });
});

describe('emailKey() and emailProblem()', () => {
  it('compare e-mails after NFC and lower-casing', () => {
    expect(emailKey('  Zoe\u0308@Example.ORG ')).toBe(emailKey('zoë@example.org'));
  });

  it('compare e-mails with full case folding, the whole address like a name', () => {
    expect(emailKey('STRASSE@example.org')).toBe(emailKey('straße@example.org'));
    expect(emailKey('STRAẞE@EXAMPLE.ORG')).toBe('strasse@example.org');
    expect(emailKey('ﬁona@Bücher.example')).toBe(emailKey('FIONA@BÜCHER.EXAMPLE'));
    expect(emailKey('é@example.org')).not.toBe(emailKey('e@example.org'));
    // No IDNA mapping: the punycode form of a domain is another key.
    expect(emailKey('a@xn--bcher-kva.example')).not.toBe(emailKey('a@bücher.example'));
  });

  it('refuse what cannot be an address, naming why', () => {
    expect(emailProblem('ada@example.org')).toBeUndefined();
    expect(emailProblem('"odd local"@example.org')).toMatch(/spaces/);
    expect(emailProblem('')).toMatch(/empty/);
    expect(emailProblem('ada')).toMatch(/local@domain/);
    expect(emailProblem('@example.org')).toMatch(/local@domain/);
    expect(emailProblem('ada@')).toMatch(/local@domain/);
    expect(emailProblem('ada\u0000@example.org')).toMatch(/control/);
    expect(emailProblem(`${'a'.repeat(250)}@example.org`)).toMatch(/254/);
  });
});
