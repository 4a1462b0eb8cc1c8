import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_URL, resolveConnection } from './config.js';
import { CliError, ExitCode } from './exit-codes.js';

describe('resolveConnection()', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dirsync-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const env = (extra: Record<string, string> = {}) => ({ configHome: join(dir, 'none'), ...extra });

  it('defaults to the local gateway without a key', async () => {
    expect(await resolveConnection({}, env())).toEqual({ url: DEFAULT_URL });
  });

  it('takes the flag over the environment over the config file', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ url: 'http://file:1/graphql', apiKey: 'dsk_file' }));
    expect(await resolveConnection({ config: file }, env())).toEqual({
      url: 'http://file:1/graphql',
      apiKey: 'dsk_file',
      apiKeyFrom: `the config file ${file}`,
    });
    expect(
      await resolveConnection({ config: file }, env({ DIRSYNC_URL: 'http://env:2/graphql' })),
    ).toMatchObject({ url: 'http://env:2/graphql', apiKey: 'dsk_file' });
    expect(
      await resolveConnection(
        { config: file, url: 'http://flag:3/graphql', apiKey: 'dsk_flag' },
        env({ DIRSYNC_URL: 'http://env:2/graphql', DIRSYNC_API_KEY: 'dsk_env' }),
      ),
    ).toEqual({ url: 'http://flag:3/graphql', apiKey: 'dsk_flag', apiKeyFrom: '--api-key' });
  });

  it('reads the key from a file (--api-key-file, DIRSYNC_API_KEY_FILE) after the direct settings', async () => {
    const keyFile = join(dir, 'owner.key');
    await writeFile(keyFile, 'dsk_from_file\n');
    expect(await resolveConnection({}, env({ DIRSYNC_API_KEY_FILE: keyFile }))).toEqual({
      url: DEFAULT_URL,
      apiKey: 'dsk_from_file',
      apiKeyFrom: `DIRSYNC_API_KEY_FILE=${keyFile}`,
    });
    expect(
      await resolveConnection(
        {},
        env({ DIRSYNC_API_KEY_FILE: keyFile, DIRSYNC_API_KEY: 'dsk_env' }),
      ),
    ).toMatchObject({ apiKey: 'dsk_env', apiKeyFrom: 'DIRSYNC_API_KEY' });
    expect(
      await resolveConnection({ apiKeyFile: keyFile }, env({ DIRSYNC_API_KEY: 'dsk_env' })),
    ).toMatchObject({ apiKey: 'dsk_from_file', apiKeyFrom: `--api-key-file ${keyFile}` });
    const missing = join(dir, 'no.key');
    await expect(resolveConnection({}, env({ DIRSYNC_API_KEY_FILE: missing }))).rejects.toThrow(
      `cannot read the API key file ${missing} (DIRSYNC_API_KEY_FILE)`,
    );
    const empty = join(dir, 'empty.key');
    await writeFile(empty, '\n');
    await expect(resolveConnection({ apiKeyFile: empty }, env())).rejects.toThrow(
      `the API key file ${empty} (--api-key-file) is empty`,
    );
  });

  it('reads $XDG_CONFIG_HOME/dirsync/config.json when it exists', async () => {
    const home = join(dir, 'xdg');
    await import('node:fs/promises').then((fs) =>
      fs.mkdir(join(home, 'dirsync'), { recursive: true }),
    );
    await writeFile(join(home, 'dirsync', 'config.json'), JSON.stringify({ apiKey: 'dsk_home' }));
    expect(await resolveConnection({}, { configHome: home })).toMatchObject({
      url: DEFAULT_URL,
      apiKey: 'dsk_home',
    });
  });

  it('names what is wrong with a config file or URL (usage errors)', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ url: 'ftp://x', apikey: 'typo' }));
    const err = await resolveConnection({ config: bad }, env()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(ExitCode.USAGE);
    expect((err as CliError).message).toMatch(/url: must be an http\(s\):\/\/ URL/);
    expect((err as CliError).message).toMatch(/apikey/);
    await expect(resolveConnection({ config: join(dir, 'missing.json') }, env())).rejects.toThrow(
      /cannot read the config file/,
    );
    await expect(resolveConnection({ url: 'localhost:4000' }, env())).rejects.toThrow(
      /must be an http\(s\):\/\/ URL/,
    );
  });

  it("the gateway's base URL means its /graphql endpoint; any other path is kept", async () => {
    for (const [given, url] of [
      ['http://127.0.0.1:4000', 'http://127.0.0.1:4000/graphql'],
      ['http://127.0.0.1:4000/', 'http://127.0.0.1:4000/graphql'],
      ['https://dirsync.example/graphql', 'https://dirsync.example/graphql'],
      ['https://proxy.example/dirsync/graphql', 'https://proxy.example/dirsync/graphql'],
    ]) {
      expect((await resolveConnection({}, { ...env(), DIRSYNC_URL: given })).url).toBe(url);
    }
  });
});
