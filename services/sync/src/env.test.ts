import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateGatewayKeyPair } from '@dirsync/kit/auth';
import { parseSyncEnv } from './env.js';

const DIRSYNC_GATEWAY_PUBLIC_KEY = generateGatewayKeyPair().publicKey;

describe('parseSyncEnv()', () => {
  it('applies defaults', () => {
    const c = parseSyncEnv({
      DIRSYNC_SECRET_KEY: randomBytes(32).toString('base64'),
      DIRSYNC_GATEWAY_PUBLIC_KEY,
    });
    expect(c).toMatchObject({
      databaseSchema: 'sync',
      port: 4102,
      host: '127.0.0.1',
      schedulerEnabled: true,
      schedulerTickSeconds: 15,
      runTimeoutSeconds: 600,
      publishedRunTimeoutSeconds: 3600,
      syncUserTimeoutSeconds: 60,
      leaseSeconds: 60,
      connectorLostSeconds: 30,
      natsNamespace: '',
    });
  });

  it('takes SYNC_CONNECTOR_LOST_SECONDS: 0 is off, 1 is too short to tell from a late heartbeat', () => {
    const base = {
      DIRSYNC_SECRET_KEY: randomBytes(32).toString('base64'),
      DIRSYNC_GATEWAY_PUBLIC_KEY,
    };
    expect(parseSyncEnv({ ...base, SYNC_CONNECTOR_LOST_SECONDS: '0' }).connectorLostSeconds).toBe(
      0,
    );
    expect(parseSyncEnv({ ...base, SYNC_CONNECTOR_LOST_SECONDS: '12' }).connectorLostSeconds).toBe(
      12,
    );
    expect(() => parseSyncEnv({ ...base, SYNC_CONNECTOR_LOST_SECONDS: '1' })).toThrow(
      /SYNC_CONNECTOR_LOST_SECONDS: must be 0 \(off\) or at least 2/,
    );
    expect(() => parseSyncEnv({ ...base, SYNC_CONNECTOR_LOST_SECONDS: 'soon' })).toThrow(
      /SYNC_CONNECTOR_LOST_SECONDS/,
    );
  });

  it('requires the secret key and says how to make one', () => {
    expect(() => parseSyncEnv({})).toThrow(/DIRSYNC_SECRET_KEY: .*openssl rand -base64 32/);
    expect(() => parseSyncEnv({})).toThrow(/DIRSYNC_GATEWAY_PUBLIC_KEY: .*npm run keys/);
    expect(() => parseSyncEnv({ DIRSYNC_SECRET_KEY: 'c2hvcnQ=' })).toThrow(
      /32 bytes.*openssl rand -base64 32/,
    );
  });

  it('reports every bad variable at once', () => {
    let message = '';
    try {
      parseSyncEnv({
        DIRSYNC_SECRET_KEY: randomBytes(32).toString('base64'),
        DIRSYNC_GATEWAY_PUBLIC_KEY,
        PORT: 'x',
        DATABASE_SCHEMA: 'Bad-Schema',
        SCHEDULER_ENABLED: 'maybe',
        SYNC_RUN_TIMEOUT_SECONDS: '0',
        SYNC_LEASE_SECONDS: '1',
        SYNC_REPLICA_ID: 'has spaces',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const v of [
      'PORT',
      'DATABASE_SCHEMA',
      'SCHEDULER_ENABLED',
      'SYNC_RUN_TIMEOUT_SECONDS',
      'SYNC_LEASE_SECONDS',
      'SYNC_REPLICA_ID',
    ]) {
      expect(message).toContain(v);
    }
  });
});
