import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A PEM certificate with its private key. */
export interface KeyPair {
  certPem: string;
  keyPem: string;
}

/** A throw-away certificate authority of the tests' own (made with the system's openssl). */
export interface TestCa extends KeyPair {
  /** A server certificate for `127.0.0.1` and `localhost`, signed by this CA. */
  serverCertificate(): Promise<KeyPair>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await exec('openssl', args, { cwd: dir });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-graph-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A new CA (EC P-256, valid 2 days). */
export async function createTestCa(name = 'dirsync fake-graph test CA'): Promise<TestCa> {
  const ca = await inTempDir(async (dir) => {
    await openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    return {
      certPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
      keyPem: await readFile(join(dir, 'ca.key'), 'utf8'),
    };
  });
  return {
    ...ca,
    serverCertificate: () =>
      inTempDir(async (dir) => {
        await writeFile(join(dir, 'ca.pem'), ca.certPem);
        await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });
        await writeFile(
          join(dir, 'ext.cnf'),
          'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
        );
        await openssl(dir, [
          'req',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          'server.key',
          '-out',
          'server.csr',
          '-subj',
          '/CN=127.0.0.1',
        ]);
        await openssl(dir, [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          'ext.cnf',
          '-out',
          'server.pem',
        ]);
        return {
          certPem: await readFile(join(dir, 'server.pem'), 'utf8'),
          keyPem: await readFile(join(dir, 'server.key'), 'utf8'),
        };
      }),
  };
}

/**
 * A self-signed RSA certificate for an app registration's certificate credential (Entra accepts
 * any certificate uploaded to the app; it verifies the client assertion with its public key).
 */
export function createClientCertificate(subject = 'dirsync test client'): Promise<KeyPair> {
  return inTempDir(async (dir) => {
    await openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-keyout',
      'client.key',
      '-out',
      'client.pem',
      '-subj',
      `/CN=${subject}`,
    ]);
    return {
      certPem: await readFile(join(dir, 'client.pem'), 'utf8'),
      keyPem: await readFile(join(dir, 'client.key'), 'utf8'),
    };
  });
}
