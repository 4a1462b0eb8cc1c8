import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@dirsync/kit';
import { createConsoleHandler, type ConsoleConfig } from './console.js';

const logger = createLogger('test', 'silent');

function consoleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(
    join(dir, 'index.html'),
    '<html><head><meta name="dirsync-console" content="{}" /></head><body>app</body></html>',
  );
  writeFileSync(
    join(dir, 'assets', 'app-abc.js'),
    `console.log(${JSON.stringify('x'.repeat(4000))})`,
  );
  writeFileSync(join(dir, '..', 'secret.txt'), 'outside');
  return dir;
}

/** Serve the handler on a port; GET a path with raw (un-normalised) request paths. */
async function serve(config: ConsoleConfig) {
  const handler = await createConsoleHandler(config, logger);
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    void handler.handle(req, res, pathname).then((ok) => {
      if (!ok) {
        res.statusCode = 404;
        res.end('not found');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('latin1'),
            }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
  return { server, get };
}

describe('the console handler', () => {
  let idp: Server;
  let issuer: string;

  beforeAll(async () => {
    idp = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: 'https://tokens.idp.example/token',
        }),
      );
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => idp.close(() => r())));

  it('serves files, the app for page paths, and nothing outside its folder', async () => {
    const { server, get } = await serve({ dir: consoleDir() });
    try {
      const page = await get('/users/123');
      expect(page.status).toBe(200);
      expect(page.body).toContain('app');
      expect(page.body).toContain('content="{&quot;oidc&quot;:null}"');
      expect(page.headers['cache-control']).toBe('no-cache');
      const asset = await get('/assets/app-abc.js', { 'accept-encoding': 'gzip, br' });
      expect(asset.headers['content-encoding']).toBe('gzip');
      expect(asset.headers['cache-control']).toContain('immutable');
      expect((await get('/assets/gone.js')).status).toBe(404);
      expect((await get('/../secret.txt')).status).toBe(404);
      expect((await get('/%2e%2e/secret.txt')).status).toBe(404);
      expect((await get('/graphql')).status).toBe(404);
      expect((await get('/metrics')).status).toBe(404);
    } finally {
      server.close();
    }
  });

  it('hands the page the OIDC endpoints and lets it reach the token endpoint only', async () => {
    const { server, get } = await serve({
      dir: consoleDir(),
      oidc: { issuer, clientId: 'console', scope: 'openid', token: 'id_token' },
    });
    try {
      const page = await get('/');
      const content = /content="([^"]*)"/.exec(page.body)![1]!.replace(/&quot;/g, '"');
      expect(JSON.parse(content)).toMatchObject({
        oidc: {
          issuer,
          clientId: 'console',
          token: 'id_token',
          authorizationEndpoint: `${issuer}/authorize`,
          tokenEndpoint: 'https://tokens.idp.example/token',
        },
      });
      expect(page.headers['content-security-policy']).toContain(
        "connect-src 'self' https://tokens.idp.example",
      );
    } finally {
      server.close();
    }
  });

  it('refuses to start without a built console', async () => {
    await expect(
      createConsoleHandler({ dir: join(tmpdir(), 'no-such-console') }, logger),
    ).rejects.toThrow(/no index.html/);
  });
});
