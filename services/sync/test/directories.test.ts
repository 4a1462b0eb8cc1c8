import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DirectoryDeletedSchema,
  Subject,
  fromBinary,
  subject,
  streamName,
  Stream,
} from '@dirsync/proto';
import { waitFor } from '@dirsync/testkit';
import { readFile } from 'node:fs/promises';
import { DEMO_DIRECTORY_PATH } from '@dirsync/testkit';
import { SecretBox, createDirectoryInputFromFile } from '../src/index.js';
import type { SyncService } from '../src/index.js';
import {
  BIND_PASSWORD,
  DIRECTORY_FIELDS,
  Harness,
  SECRET_KEY,
  createDirectory,
  directoryInput,
  gql,
  gqlErr,
  gqlOk,
} from './helpers.js';

/** A test CA certificate (its key was thrown away). */
const TEST_CA_PEM = [
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

const CREATE = `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${DIRECTORY_FIELDS} } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateDirectoryInput!) { updateDirectory(id: $id, input: $input) { ${DIRECTORY_FIELDS} } }`;
const DELETE = `mutation($id: ID!) { deleteDirectory(id: $id) }`;

const h = new Harness();
let sync: SyncService;

beforeAll(async () => {
  await h.setup();
  sync = await h.start();
});
afterAll(() => h.teardown());

/** The `field`s a BAD_USER_INPUT error names. */
async function badFields(query: string, variables: Record<string, unknown>): Promise<string[]> {
  const e = await gqlErr(sync.url, query, variables);
  expect(e.code).toBe('BAD_USER_INPUT');
  const fields = (e.extensions.fields as { field: string; message: string }[]).map((f) => f.field);
  for (const f of fields) expect(e.message).toContain(f);
  return fields;
}

describe('createDirectory', () => {
  it('stores a directory with defaults and never returns the password', async () => {
    const r = await gql(sync.url, CREATE, { input: directoryInput({ name: 'Corp LDAP' }) });
    expect(r.errors).toBeUndefined();
    const dir = (r.data as { createDirectory: Record<string, unknown> }).createDirectory;
    expect(dir).toMatchObject({
      name: 'Corp LDAP',
      kind: 'LDAP',
      enabled: true,
      hasBindPassword: true,
      defaultRegion: 'US',
      scheduleIntervalMinutes: 30,
      restoreWindowDays: 7,
      lastRun: null,
      ldap: {
        url: 'ldap://127.0.0.1:3890',
        profile: 'openldap',
        startTls: false,
        tlsRejectUnauthorized: true,
        pageSize: 1000,
        timeoutMs: 30000,
        groupBaseDn: null,
      },
      mapping: {
        username: 'uid',
        aliases: [],
        email: 'mail',
        phones: ['telephoneNumber', 'mobile'],
        custom: [],
      },
    });
    expect(JSON.stringify(r)).not.toContain(BIND_PASSWORD);
    expect(new Date(dir.nextRunAt as string).getTime()).toBeGreaterThan(Date.now() + 29 * 60_000);
  });

  it('encrypts the bind password at rest (AES-GCM, key id prefix, bound to the directory)', async () => {
    const dir = await createDirectory(sync.url);
    const [row] = await h.sql<{ bind_password_enc: string }>(
      'select bind_password_enc from sync.directories where id = ?',
      [dir.id],
    );
    const stored = row!.bind_password_enc;
    expect(stored).not.toContain(BIND_PASSWORD);
    expect(stored).not.toContain(Buffer.from(BIND_PASSWORD).toString('base64'));
    const box = new SecretBox(SECRET_KEY);
    expect(stored.startsWith(`v1.${box.keyId}.`)).toBe(true);
    expect(box.decrypt(stored, dir.id)).toBe(BIND_PASSWORD);
    // Another key names the problem instead of returning garbage.
    const other = new SecretBox(Buffer.alloc(32, 7).toString('base64'));
    expect(() => other.decrypt(stored, dir.id)).toThrow(/encrypted with key .* not configured/);
    // Moved to another directory's row, it does not decrypt.
    expect(() => box.decrypt(stored, '00000000-0000-0000-0000-000000000000')).toThrow(
      /does not decrypt/,
    );
  });

  it('names every bad field at once', async () => {
    const fields = await badFields(CREATE, {
      input: directoryInput({
        name: '  ',
        ldap: { url: 'http://x', bindDn: '', baseDn: 'dc=example,dc=org', pageSize: 0 },
        bindPassword: '',
        selectedGroups: ['cn=ok,dc=example,dc=org', 'not a dn', 'CN=OK, DC=Example,DC=org'],
        mapping: {
          username: '1bad',
          aliases: ['a', 'b', 'c', 'd', 'e'],
          email: 'mail address',
          phones: ['mobile', 'MOBILE'],
          custom: [
            { name: 'costCenter', attribute: 'departmentNumber' },
            { name: 'costcenter', attribute: 'x' },
            { name: '9x', attribute: 'has space' },
          ],
        },
        defaultRegion: 'XX',
        scheduleIntervalMinutes: -1,
        restoreWindowDays: 100000,
      }),
    });
    expect(fields.sort()).toEqual(
      [
        'name',
        'ldap.url',
        'ldap.bindDn',
        'ldap.pageSize',
        'bindPassword',
        'selectedGroups[1]',
        'selectedGroups[2]',
        'mapping.username',
        'mapping.aliases',
        'mapping.email',
        'mapping.phones[1]',
        'mapping.custom[1].name',
        'mapping.custom[2].name',
        'mapping.custom[2].attribute',
        'defaultRegion',
        'scheduleIntervalMinutes',
        'restoreWindowDays',
      ].sort(),
    );
  });

  it('rejects unsupported kinds, unknown LDAP settings and too many or no groups', async () => {
    expect(await badFields(CREATE, { input: directoryInput({ kind: 'OKTA' }) })).toEqual(['kind']);
    expect(
      await badFields(CREATE, {
        input: directoryInput({
          selectedGroups: Array.from({ length: 401 }, (_, i) => `cn=g${i},dc=x`),
        }),
      }),
    ).toEqual(['selectedGroups']);
    expect(await badFields(CREATE, { input: directoryInput({ selectedGroups: [] }) })).toEqual([
      'selectedGroups',
    ]);
    const ok = await createDirectory(sync.url, {
      selectedGroups: Array.from({ length: 400 }, (_, i) => `cn=g${i},ou=groups,dc=example,dc=org`),
    });
    expect((ok.selectedGroups as string[]).length).toBe(400);
  });

  it('creates the demo directory from its JSON file', async () => {
    const file = JSON.parse(await readFile(DEMO_DIRECTORY_PATH, 'utf8')) as Parameters<
      typeof createDirectoryInputFromFile
    >[0];
    const data = await gqlOk<{ createDirectory: Record<string, unknown> }>(sync.url, CREATE, {
      input: createDirectoryInputFromFile(file, 'admin-secret'),
    });
    expect(data.createDirectory).toMatchObject({
      name: file.name,
      defaultRegion: 'GB',
      selectedGroups: file.selectedGroups,
      mapping: {
        aliases: ['mail'],
        custom: Object.entries(file.mapping?.custom ?? {}).map(([name, attribute]) => ({
          name,
          attribute,
        })),
      },
    });
    expect((data.createDirectory.mapping as { custom: unknown[] }).custom.length).toBeGreaterThan(
      0,
    );
  });

  it('keeps names unique regardless of case', async () => {
    await createDirectory(sync.url, { name: 'Unique Name' });
    expect(await badFields(CREATE, { input: directoryInput({ name: 'unique NAME' }) })).toEqual([
      'name',
    ]);
  });

  it('accepts custom mappings as name/attribute pairs', async () => {
    const dir = await createDirectory(sync.url, {
      mapping: {
        username: 'mail',
        aliases: ['uid', 'employeeNumber'],
        custom: [
          { name: 'costCenter', attribute: 'departmentNumber' },
          { name: 'oid', attribute: '2.5.4.11' },
        ],
      },
      defaultRegion: 'gb',
    });
    expect(dir.mapping).toMatchObject({
      username: 'mail',
      aliases: ['uid', 'employeeNumber'],
      custom: [
        { name: 'costCenter', attribute: 'departmentNumber' },
        { name: 'oid', attribute: '2.5.4.11' },
      ],
    });
    expect(dir.defaultRegion).toBe('GB');
  });
});

describe('Entra ID directories', () => {
  const ENTRA_FIELDS = `id kind hasBindPassword selectedGroups
    entra { tenantId clientId credential cloud loginUrl graphUrl pageSize timeoutMs }
    ldap { url }
    mapping { username email firstName lastName displayName phones }`;
  const SECRET = 'entra-Client-Secret~value';
  const input = {
    name: 'Corp Entra',
    entra: {
      tenantId: '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b',
      clientId: '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f',
      cloud: 'usgov',
    },
    clientSecret: SECRET,
    selectedGroups: ['0f1e2d3c-4b5a-4968-8776-655443322110'],
  };

  it('creates one from an entra block, encrypts the client secret and sends it only in the config reply', async () => {
    const { createDirectory: dir } = await gqlOk<{ createDirectory: Record<string, unknown> }>(
      sync.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { ${ENTRA_FIELDS} } }`,
      { input },
    );
    expect(dir).toMatchObject({
      kind: 'ENTRA',
      hasBindPassword: true,
      ldap: null,
      entra: {
        ...input.entra,
        credential: 'clientSecret',
        loginUrl: null,
        graphUrl: null,
        pageSize: 999,
      },
      mapping: {
        username: 'userPrincipalName',
        lastName: 'surname',
        phones: ['businessPhones', 'mobilePhone'],
      },
    });
    expect(JSON.stringify(dir)).not.toContain(SECRET);
    const [row] = await h.sql<{ bind_password_enc: string; settings: unknown }>(
      'select bind_password_enc, settings from sync.directories where id = ?',
      [dir.id],
    );
    expect(row!.bind_password_enc).not.toContain(SECRET);
    expect(JSON.stringify(row!.settings)).not.toContain(SECRET);
    const reply = await h.requestConfig(dir.id as string);
    expect(reply.result.case).toBe('config');
    const config = reply.result.case === 'config' ? reply.result.value : undefined;
    expect(config?.kind).toBe('entra');
    expect(config?.secrets).toEqual({ clientSecret: SECRET });
    expect(JSON.parse(config?.settingsJson ?? '{}')).toMatchObject({
      tenantId: input.entra.tenantId,
      cloud: 'usgov',
    });
  });

  it('names bad Entra fields at once', async () => {
    const fields = await badFields(CREATE, {
      input: {
        ...input,
        name: 'Bad Entra',
        entra: { tenantId: 'x y', clientId: 'nope' },
        clientSecret: null,
        bindPassword: 'pw',
      },
    });
    expect(fields.sort()).toEqual([
      'bindPassword',
      'clientSecret',
      'entra.clientId',
      'entra.tenantId',
    ]);
  });

  it('switches to a certificate credential only with the certificate', async () => {
    const { createDirectory: dir } = await gqlOk<{ createDirectory: { id: string } }>(
      sync.url,
      `mutation($input: CreateDirectoryInput!) { createDirectory(input: $input) { id } }`,
      { input: { ...input, name: 'Entra cert' } },
    );
    expect(
      await badFields(UPDATE, {
        id: dir.id,
        input: { entra: { credential: 'clientCertificate' } },
      }),
    ).toEqual(['clientCertificate']);
    const pem =
      '-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
    await gqlOk(sync.url, UPDATE, {
      id: dir.id,
      input: { entra: { credential: 'clientCertificate' }, clientCertificate: pem },
    });
    const reply = await h.requestConfig(dir.id);
    expect(reply.result.case === 'config' ? reply.result.value.secrets : undefined).toEqual({
      clientCertificate: pem,
    });
  });
});

describe('updateDirectory', () => {
  it('changes only the given fields and re-encrypts a new password', async () => {
    const dir = await createDirectory(sync.url, { scheduleIntervalMinutes: 0 });
    expect(dir.nextRunAt).toBeNull();
    const [before] = await h.sql<{ bind_password_enc: string }>(
      'select bind_password_enc from sync.directories where id = ?',
      [dir.id],
    );
    const data = await gqlOk<{ updateDirectory: Record<string, unknown> }>(sync.url, UPDATE, {
      id: dir.id,
      input: {
        ldap: { userFilter: '(employeeType=staff)', userBaseDn: null, pageSize: 500 },
        bindPassword: 'new-secret-value',
        scheduleIntervalMinutes: 60,
        mapping: { email: '' },
      },
    });
    const u = data.updateDirectory;
    expect(u).toMatchObject({
      name: dir.name,
      scheduleIntervalMinutes: 60,
      hasBindPassword: true,
      ldap: {
        userFilter: '(employeeType=staff)',
        userBaseDn: null,
        pageSize: 500,
        url: 'ldap://127.0.0.1:3890',
      },
      mapping: { username: 'uid', email: '', firstName: 'givenName' },
    });
    expect(u.nextRunAt).not.toBeNull();
    const [after] = await h.sql<{ bind_password_enc: string }>(
      'select bind_password_enc from sync.directories where id = ?',
      [dir.id],
    );
    expect(after!.bind_password_enc).not.toBe(before!.bind_password_enc);
    expect(new SecretBox(SECRET_KEY).decrypt(after!.bind_password_enc, dir.id)).toBe(
      'new-secret-value',
    );
  });

  it('names bad fields, and answers NOT_FOUND for unknown ids', async () => {
    const dir = await createDirectory(sync.url);
    expect(
      await badFields(UPDATE, {
        id: dir.id,
        input: {
          ldap: { url: 'ftp://x' },
          selectedGroups: ['cn=a,dc=x', 'cn=a,dc=x'],
          defaultRegion: 'USA',
        },
      }),
    ).toEqual(['ldap.url', 'selectedGroups[1]', 'defaultRegion']);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      expect((await gqlErr(sync.url, UPDATE, { id, input: { enabled: false } })).code).toBe(
        'NOT_FOUND',
      );
      expect((await gqlErr(sync.url, DELETE, { id })).code).toBe('NOT_FOUND');
    }
    const q = await gqlOk<{ directory: unknown }>(
      sync.url,
      `query($id: ID!) { directory(id: $id) { id } }`,
      {
        id: '00000000-0000-4000-8000-000000000000',
      },
    );
    expect(q.directory).toBeNull();
  });

  it('refuses NUL and other control characters in any string setting, by field (never INTERNAL)', async () => {
    const logged = h.logLines.length;
    const ldap = directoryInput().ldap as Record<string, unknown>;
    expect(
      await badFields(CREATE, {
        input: directoryInput({
          ldap: { ...ldap, bindDn: 'cn=admin\u0000,dc=example,dc=org', baseDn: 'dc=example\u0007' },
        }),
      }),
    ).toEqual(['ldap.bindDn', 'ldap.baseDn']);
    const dir = await createDirectory(sync.url);
    for (const [key, value] of [
      ['userFilter', '(uid=a\u0000)'],
      ['url', 'ldap://127.0.0.1\u0000:389'],
      ['groupBaseDn', 'ou=groups,dc=example,dc=org\n'],
      ['tlsCaPem', '-----BEGIN CERTIFICATE-----\u0000'],
      ['userBaseDn', 'ou=\ud800,dc=example,dc=org'],
    ]) {
      expect(await badFields(UPDATE, { id: dir.id, input: { ldap: { [key!]: value } } })).toEqual([
        `ldap.${key}`,
      ]);
    }
    const entra = {
      name: 'Entra with NUL',
      entra: {
        tenantId: '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b',
        clientId: '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f',
        graphUrl: 'https://graph.example.org\u0000',
        tlsCaPem: '\u0000',
      },
      clientSecret: 'entra-secret',
      selectedGroups: ['0f1e2d3c-4b5a-4968-8776-655443322110'],
    };
    expect(await badFields(CREATE, { input: entra })).toEqual(['entra.graphUrl', 'entra.tlsCaPem']);
    // nothing reached the database, so nothing (no statement, no ciphertext) reached the log
    for (const line of h.logLines.slice(logged)) {
      expect(line).not.toMatch(/insert into|bind_password_enc/i);
      expect(JSON.parse(line).level).toBeLessThan(50);
    }
  });

  it('refuses server URLs with user info, a path, query or fragment, or no host (never echoing them)', async () => {
    const dir = await createDirectory(sync.url);
    for (const url of [
      'ldap://u:S3cretPW!x@127.0.0.1:389',
      'ldaps://S3cretPW@127.0.0.1',
      'ldap://127.0.0.1:389/dc=example,dc=org',
      'ldap://127.0.0.1:389?base',
      'ldap://127.0.0.1:389#x',
      'ldap:///',
      'ldap://',
    ]) {
      const e = await gqlErr(sync.url, UPDATE, { id: dir.id, input: { ldap: { url } } });
      expect(e.code).toBe('BAD_USER_INPUT');
      expect((e.extensions.fields as { field: string }[]).map((f) => f.field)).toEqual([
        'ldap.url',
      ]);
      expect(JSON.stringify(e)).not.toContain('S3cretPW');
    }
    expect(
      await badFields(CREATE, {
        input: directoryInput({
          ldap: { ...(directoryInput().ldap as object), url: 'ldap://admin:pw@127.0.0.1:389' },
        }),
      }),
    ).toEqual(['ldap.url']);
    const ok = await gqlOk<{ updateDirectory: { ldap: { url: string } } }>(sync.url, UPDATE, {
      id: dir.id,
      input: { ldap: { url: 'ldaps://[::1]:636/' } },
    });
    expect(ok.updateDirectory.ldap.url).toBe('ldaps://[::1]:636/');
    const entra = (extra: Record<string, unknown>) => ({
      name: `Entra URLs ${Object.keys(extra).join()}`,
      entra: {
        tenantId: '8a0c9b7e-2f41-4d3a-9e55-0c1d2e3f4a5b',
        clientId: '3c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f',
        ...extra,
      },
      clientSecret: 'entra-secret',
      selectedGroups: ['0f1e2d3c-4b5a-4968-8776-655443322110'],
    });
    expect(
      await badFields(CREATE, {
        input: entra({
          loginUrl: 'https://user:S3cretPW@login.example.org',
          graphUrl: 'https://graph.example.org/v1.0?x=1',
        }),
      }),
    ).toEqual(['entra.loginUrl', 'entra.graphUrl']);
    expect(
      await badFields(CREATE, { input: entra({ graphUrl: 'http://graph.example.org' }) }),
    ).toEqual(['entra.graphUrl']);
  });

  it('refuses what the connector would refuse: bad DNs, base DNs outside baseDn, bad filters', async () => {
    const ldap = directoryInput().ldap as Record<string, unknown>;
    expect(
      await badFields(CREATE, {
        input: directoryInput({
          ldap: {
            ...ldap,
            bindDn: 'not a dn',
            baseDn: 'dc=example,,dc=org',
            userFilter: '(&(uid=*)',
          },
        }),
      }),
    ).toEqual(['ldap.bindDn', 'ldap.baseDn', 'ldap.userFilter']);
    const dir = await createDirectory(sync.url);
    for (const [key, value] of [
      ['userFilter', '(uid=*))(|(x=1)'],
      ['userFilter', 'uid=*'],
      ['userBaseDn', 'ou=people,dc=other,dc=org'],
      ['groupBaseDn', 'dc=org'],
      ['groupBaseDn', 'ou=groups,,dc=example,dc=org'],
      ['bindDn', 'admin@example.org'],
    ]) {
      expect(await badFields(UPDATE, { id: dir.id, input: { ldap: { [key!]: value } } })).toEqual([
        `ldap.${key}`,
      ]);
    }
    // the connector's notion of "within": case and spacing do not matter
    const ok = await gqlOk<{ updateDirectory: { ldap: Record<string, unknown> } }>(
      sync.url,
      UPDATE,
      {
        id: dir.id,
        input: {
          ldap: {
            groupBaseDn: 'OU=Groups, DC=Example,DC=org',
            userFilter: '(&(objectClass=person)(!(uid=svc-\\2a)))',
          },
        },
      },
    );
    expect(ok.updateDirectory.ldap.groupBaseDn).toBe('OU=Groups, DC=Example,DC=org');
    // Active Directory binds as a UPN or DOMAIN\\user too
    const ad = await gqlOk<{ createDirectory: { ldap: { bindDn: string } } }>(sync.url, CREATE, {
      input: directoryInput({
        ldap: {
          ...ldap,
          url: 'ldaps://127.0.0.1:636',
          profile: 'activedirectory',
          bindDn: 'reader@example.org',
        },
      }),
    });
    expect(ad.createDirectory.ldap.bindDn).toBe('reader@example.org');
  });

  it('takes tlsCaPem only as PEM certificates, never echoing a private key', async () => {
    const dir = await createDirectory(sync.url);
    const key =
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgS3cr3tK3y\n-----END PRIVATE KEY-----';
    for (const pem of [
      'just some text',
      '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      `${TEST_CA_PEM}\n${key}`,
      key,
    ]) {
      const e = await gqlErr(sync.url, UPDATE, { id: dir.id, input: { ldap: { tlsCaPem: pem } } });
      expect(e.code).toBe('BAD_USER_INPUT');
      expect((e.extensions.fields as { field: string }[]).map((f) => f.field)).toEqual([
        'ldap.tlsCaPem',
      ]);
      expect(JSON.stringify(e)).not.toContain('S3cr3tK3y');
      expect(JSON.stringify(e)).not.toContain('MIGHAgEA');
    }
    const bundle = `subject=CN = dirsync sync test CA\n${TEST_CA_PEM}\n${TEST_CA_PEM}\n`;
    const ok = await gqlOk<{ updateDirectory: { ldap: { tlsCaPem: string } } }>(sync.url, UPDATE, {
      id: dir.id,
      input: { ldap: { tlsCaPem: bundle } },
    });
    expect(ok.updateDirectory.ldap.tlsCaPem).toBe(bundle);
  });

  it('locks the username attribute once a run has completed', async () => {
    const dir = await createDirectory(sync.url);
    // Before any completed run it may change.
    await gqlOk(sync.url, UPDATE, { id: dir.id, input: { mapping: { username: 'mail' } } });
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(
      sync.url,
      `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
      { id: dir.id },
    );
    await h.publishUpdate({ runId: syncAll.id, directoryId: dir.id, seq: 1, status: 3 });
    await waitFor(
      async () => {
        const r = await gqlOk<{ run: { status: string } }>(
          sync.url,
          `query($id: ID!) { run(id: $id) { status } }`,
          {
            id: syncAll.id,
          },
        );
        return r.run.status === 'COMPLETED';
      },
      { message: 'run completed' },
    );
    const e = await gqlErr(sync.url, UPDATE, {
      id: dir.id,
      input: { mapping: { username: 'uid' } },
    });
    expect(e.code).toBe('BAD_USER_INPUT');
    expect(e.message).toMatch(/mapping\.username: cannot change .*has synced/);
    // The same attribute (any case) and other mapping fields are still fine.
    await gqlOk(sync.url, UPDATE, {
      id: dir.id,
      input: { mapping: { username: 'MAIL', email: 'mail' } },
    });
  });
});

describe('deleteDirectory', () => {
  it('deletes the directory and its runs, and announces DirectoryDeleted', async () => {
    const dir = await createDirectory(sync.url, { restoreWindowDays: 14 });
    const { syncAll } = await gqlOk<{ syncAll: { id: string } }>(
      sync.url,
      `mutation($id: ID!) { syncAll(directoryId: $id) { id } }`,
      { id: dir.id },
    );
    // Refused while the run is active, naming the run.
    const refused = await gqlErr(sync.url, DELETE, { id: dir.id });
    expect(refused.code).toBe('RUN_IN_PROGRESS');
    expect(refused.extensions.runId).toBe(syncAll.id);

    await h.publishUpdate({ runId: syncAll.id, directoryId: dir.id, seq: 1, status: 4 });
    await waitFor(
      async () => {
        const d = await gql(sync.url, DELETE, { id: dir.id });
        return d.errors ? false : d;
      },
      { message: 'deleted after the run failed' },
    );

    const q = await gqlOk<{ directory: unknown; run: unknown }>(
      sync.url,
      `query($id: ID!, $run: ID!) { directory(id: $id) { id } run(id: $run) { id } }`,
      { id: dir.id, run: syncAll.id },
    );
    expect(q).toEqual({ directory: null, run: null });

    const jsm = await h.nc.jetstreamManager();
    const stream = streamName(Stream.LIFECYCLE, h.ns).name;
    const subj = subject(Subject.LIFECYCLE, { entity: 'directory', transition: 'deleted' }, h.ns);
    const msg = await waitFor(() => jsm.streams.getMessage(stream, { last_by_subj: subj }), {
      message: 'DirectoryDeleted published',
    });
    expect(msg.header?.get('Nats-Msg-Id')).toBe(`directory-deleted:${dir.id}`);
    const event = fromBinary(DirectoryDeletedSchema, msg.data);
    expect(event.directoryId).toBe(dir.id);
    expect(event.restoreWindowDays).toBe(14);
    await waitFor(async () => (await h.sql('select 1 from sync.outbox')).length === 0, {
      message: 'outbox drained',
    });
  });
});

describe('directories query', () => {
  it('pages through directories by name', async () => {
    const all: string[] = [];
    let after: string | null = null;
    let total = 0;
    for (;;) {
      const page: {
        directories: {
          edges: { node: { name: string } }[];
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
          totalCount: number;
        };
      } = await gqlOk(
        sync.url,
        `query($after: String) { directories(first: 2, after: $after) {
            edges { cursor node { name } } pageInfo { hasNextPage endCursor } totalCount } }`,
        { after },
      );
      all.push(...page.directories.edges.map((e) => e.node.name));
      total = page.directories.totalCount;
      if (!page.directories.pageInfo.hasNextPage) break;
      after = page.directories.pageInfo.endCursor;
    }
    expect(all.length).toBe(total);
    expect(total).toBeGreaterThan(3);
    expect(new Set(all).size).toBe(all.length);
    // Pages concatenate to the same order as one big page.
    const one = await gqlOk<{ directories: { edges: { node: { name: string } }[] } }>(
      sync.url,
      `{ directories(first: 500) { edges { node { name } } } }`,
    );
    expect(all).toEqual(one.directories.edges.map((e) => e.node.name));
    const bad = await gqlErr(
      sync.url,
      `{ directories(first: 2, after: "garbage") { totalCount } }`,
    );
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect((await gqlErr(sync.url, `{ directories(first: 0) { totalCount } }`)).code).toBe(
      'BAD_USER_INPUT',
    );
  });

  it('never logs the bind password', () => {
    expect(h.logLines.length).toBeGreaterThan(0);
    for (const line of h.logLines) {
      expect(line).not.toContain(BIND_PASSWORD);
      expect(line).not.toContain('new-secret-value');
    }
  });
});
