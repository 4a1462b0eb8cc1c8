// startSambaAd against the real Samba AD DC: instances on their own addresses, TLS with the
// tests' CA, the fixture cache, backup/restore.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'ldapts';
import { SAMBA_BASE_DN, startSambaAd, type SambaAd } from '../src/index.js';

const FIXTURE = `dn: CN=Fixture User,CN=Users,${SAMBA_BASE_DN}
changetype: add
objectClass: user
sAMAccountName: fixture.user
userAccountControl: 544
`;

describe('startSambaAd()', () => {
  let a: SambaAd;
  let b: SambaAd;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startSambaAd({ name: 'kit-a', fixture: FIXTURE }),
      startSambaAd({ name: 'kit-b' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()]);
  });

  it('gives each instance its own loopback address', () => {
    expect(a.host).toMatch(/^127\.0\.0\.\d+$/);
    expect(a.host).not.toBe(b.host);
  });

  it('loads the fixture into one instance only, each with its own data', async () => {
    expect(await a.search(a.usersDn, '(sAMAccountName=fixture.user)', ['objectGUID'])).toHaveLength(
      1,
    );
    expect(await b.search(b.usersDn, '(sAMAccountName=fixture.user)', ['objectGUID'])).toHaveLength(
      0,
    );
    await b.modify(
      `dn: CN=Only B,CN=Users,${SAMBA_BASE_DN}\nchangetype: add\nobjectClass: user\nsAMAccountName: only.b\n`,
    );
    expect(await a.search(a.usersDn, '(sAMAccountName=only.b)')).toHaveLength(0);
    const [guid] = await a.search(a.usersDn, '(sAMAccountName=fixture.user)', ['objectGUID']);
    expect(Buffer.isBuffer(guid?.objectGUID)).toBe(true);
  });

  it('serves a fixture from the cache on the next start', async () => {
    const started = Date.now();
    const c = await startSambaAd({ name: 'kit-c', fixture: FIXTURE });
    try {
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await c.search(c.usersDn, '(sAMAccountName=fixture.user)')).toHaveLength(1);
    } finally {
      await c.dispose();
    }
  });

  it('speaks LDAPS and StartTLS verified against the tests\u2019 CA', async () => {
    const ldaps = new Client({
      url: a.ldapsUrl,
      tlsOptions: { ca: [a.caPem], rejectUnauthorized: true },
    });
    await ldaps.bind(a.adminDn, a.adminPassword);
    await ldaps.unbind();
    const starttls = new Client({ url: a.url });
    await starttls.startTLS({ ca: [a.caPem], rejectUnauthorized: true, host: a.host });
    await starttls.bind(a.adminDn, a.adminPassword);
    await starttls.unbind();
    const untrusted = new Client({ url: a.ldapsUrl, tlsOptions: { rejectUnauthorized: true } });
    await expect(untrusted.bind(a.adminDn, a.adminPassword)).rejects.toThrow();
  });

  it('restores a backup: changes made after it are gone', async () => {
    await b.stop();
    b.backup('before');
    await b.start();
    await b.modify(
      `dn: CN=After Backup,CN=Users,${SAMBA_BASE_DN}\nchangetype: add\nobjectClass: user\nsAMAccountName: after.backup\n`,
    );
    expect(await b.search(b.usersDn, '(sAMAccountName=after.backup)')).toHaveLength(1);
    await b.stop();
    b.restore('before');
    await b.start();
    expect(await b.search(b.usersDn, '(sAMAccountName=after.backup)')).toHaveLength(0);
  });
});
