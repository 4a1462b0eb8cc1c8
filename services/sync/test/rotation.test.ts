import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyId } from '../src/index.js';
import { BIND_PASSWORD, Harness, createDirectory, gqlOk } from './helpers.js';

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const id = (k: string) => keyId(Buffer.from(k, 'base64'));

const h = new Harness();
beforeAll(() => h.setup());
afterAll(() => h.teardown());

async function stored(directoryId: string): Promise<string> {
  const [row] = await h.sql<{ bind_password_enc: string }>(
    'select bind_password_enc from sync.directories where id = ?',
    [directoryId],
  );
  return row!.bind_password_enc;
}

describe('DIRSYNC_SECRET_KEY rotation', () => {
  it('re-encrypts stored secrets with the new key at start, reading them with the previous one', async () => {
    const first = await h.start({ secretKey: OLD });
    const dir = await createDirectory(first.url);
    expect(await stored(dir.id)).toMatch(
      new RegExp(`^v1\\.${id(OLD).replace(/[-_]/g, '\\$&')}\\.`),
    );
    await first.stop();

    // Step 2 of the procedure: the new key current, the old one previous.
    const second = await h.start({ secretKey: NEW, previousSecretKeys: [OLD] });
    expect((await stored(dir.id)).startsWith(`v1.${id(NEW)}.`)).toBe(true);
    const reply = await h.requestConfig(dir.id);
    expect(reply.result.case).toBe('config');
    if (reply.result.case === 'config')
      expect(Object.values(reply.result.value.secrets)).toEqual([BIND_PASSWORD]);
    expect(
      h.logLines.some((l) => l.includes('re-encrypted') && l.includes('"reencrypted":1')),
    ).toBe(true);
    await second.stop();

    // Step 3: the old key removed; everything still reads.
    const third = await h.start({ secretKey: NEW });
    const again = await h.requestConfig(dir.id);
    expect(again.result.case).toBe('config');
    await third.stop();
  });

  it('a secret under a key that is not configured is reported, kept, and refused to connectors', async () => {
    const other = randomBytes(32).toString('base64');
    const s = await h.start({ secretKey: other });
    const { directories } = await gqlOk<{ directories: { nodes: { id: string }[] } }>(
      s.url,
      '{ directories { nodes { id } } }',
    );
    const dirId = directories.nodes[0]!.id;
    const before = await stored(dirId);
    expect(h.logLines.some((l) => l.includes('not configured') && l.includes(dirId))).toBe(true);
    const reply = await h.requestConfig(dirId);
    expect(reply.result.case).toBe('error');
    expect(await stored(dirId)).toBe(before);
    expect(h.logLines.join('\n')).not.toContain(BIND_PASSWORD);
    await s.stop();
  });
});
