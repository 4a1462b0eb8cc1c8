import { describe, expect, it } from 'vitest';
import { problemsAt } from '../lib/errors.js';
import { buildCreateInput, localProblems, newForm, remapProblems } from './directory-input.js';

describe('the directory form', () => {
  it('sends required LDAP fields even when empty, so the API names them', () => {
    const input = buildCreateInput({ ...newForm('openldap'), name: 'x' });
    expect(input).toMatchObject({
      name: 'x',
      kind: 'LDAP',
      ldap: { url: '', bindDn: '', baseDn: '', profile: 'openldap' },
      selectedGroups: [],
    });
    expect(input).not.toHaveProperty('bindPassword');
    expect(input).not.toHaveProperty('mapping');
  });

  it('builds an Active Directory and an Entra ID input', () => {
    const ad = buildCreateInput({
      ...newForm('activedirectory'),
      'ldap.allowPlainLdap': true,
      'mapping.aliases': 'mail, userPrincipalName',
      'mapping.custom': 'department=department\ncost = extensionAttribute1',
      'adminRoles.HELP_DESK': 'cn=helpdesk,dc=corp\n',
      bindPassword: 's3cret',
    });
    expect(ad).toMatchObject({
      ldap: { profile: 'activedirectory', allowPlainLdap: true },
      bindPassword: 's3cret',
      mapping: {
        aliases: ['mail', 'userPrincipalName'],
        custom: [
          { name: 'department', attribute: 'department' },
          { name: 'cost', attribute: 'extensionAttribute1' },
        ],
      },
      adminRoles: [{ role: 'HELP_DESK', groups: ['cn=helpdesk,dc=corp'] }],
    });
    const entra = buildCreateInput({
      ...newForm('entra'),
      'entra.tenantId': 't',
      'entra.clientId': 'c',
      clientSecret: 'cs',
      clientCertificate: 'ignored',
    });
    expect(entra).toMatchObject({
      kind: 'ENTRA',
      entra: { tenantId: 't', credential: 'clientSecret' },
      clientSecret: 'cs',
    });
    expect(entra).not.toHaveProperty('clientCertificate');
    expect(entra).not.toHaveProperty('ldap');
  });

  it('checks whole numbers itself and puts admin role problems beside their role', () => {
    const form = { ...newForm('openldap'), restoreWindowDays: '2.5', 'adminRoles.BILLING': 'x' };
    expect(localProblems(form)).toEqual([
      { field: 'restoreWindowDays', message: 'must be a whole number' },
    ]);
    const mapped = remapProblems([{ field: 'adminRoles[0].groups[0]', message: 'bad' }], form);
    expect(problemsAt(mapped, 'adminRoles.BILLING')).toHaveLength(1);
    expect(
      problemsAt([{ field: 'selectedGroups[3]', message: 'm' }], 'selectedGroups'),
    ).toHaveLength(1);
    expect(problemsAt([{ field: 'ldap.urlx', message: 'm' }], 'ldap.url')).toHaveLength(0);
  });
});
