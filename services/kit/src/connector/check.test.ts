// The kit's side of connection tests, with a scripted connector over real NATS: the SETTINGS
// check, errors → failed checks with their codes, skipped steps, the deadline, secret scrubbing,
// and a connector without check().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CheckName,
  CheckStatus,
  ErrorCode,
  errorCodeName,
  type ConnectionCheck,
} from '@dirsync/proto';
import { DirsyncError } from '../errors.js';
import {
  startConnectorHarness,
  type ConnectorHarness,
  type HarnessConfig,
} from '../conformance/harness.js';
import type { CheckContext } from './check.js';
import type { SourceConnector } from './types.js';

const PASSWORD = 'Check-S3cret-Password-7';
type Script = (ctx: CheckContext<{ host: string }>) => Promise<void>;
let script: Script = async () => undefined;

const scripted: SourceConnector<{ host: string }> = {
  kind: 'checked',
  settingsSchema: z.object({ host: z.string().min(1) }).strict(),
  requiredSecrets: ['password'],
  async run() {
    return {};
  },
  check: (ctx) => script(ctx),
};

const view = (c: ConnectionCheck) => ({
  name: CheckName[c.name],
  target: c.target,
  status: CheckStatus[c.status],
  code: errorCodeName(c.code),
});

let h: ConnectorHarness;
let plain: ConnectorHarness;
beforeAll(async () => {
  h = await startConnectorHarness({ connector: scripted });
  plain = await startConnectorHarness({
    connector: { ...scripted, kind: 'unchecked', check: undefined },
  });
});
afterAll(async () => {
  await h?.close();
  await plain?.close();
});

const config = { settings: { host: 'src.example' }, secrets: { password: PASSWORD } };

async function checks(c: HarnessConfig = config, timeoutMs?: number): Promise<ConnectionCheck[]> {
  const reply = await h.testConnection(c, { timeoutMs });
  if (reply.outcome.case !== 'result') throw new Error(`no result: ${JSON.stringify(reply)}`);
  return reply.outcome.value.checks;
}

describe('connection tests (kit)', () => {
  it('fails SETTINGS, naming the field, and asks the connector nothing', async () => {
    let called = false;
    script = async () => {
      called = true;
    };
    const got = await checks({ settings: { host: '', port: 1 }, secrets: { password: PASSWORD } });
    expect(got.map(view)).toEqual([
      { name: 'SETTINGS', target: '', status: 'FAILED', code: 'CONFIG_INVALID' },
    ]);
    expect(got[0]?.message).toMatch(/host/);
    expect(got[0]?.message).toMatch(/port/);
    expect(called).toBe(false);
  });

  it('fails SETTINGS when a required secret is missing', async () => {
    const got = await checks({ settings: { host: 'x' }, secrets: {} });
    expect(got[0]?.message).toBe('the secret "password" is not set');
  });

  it('reports each check in order: ok, failed with its code, skipped', async () => {
    script = async (ctx) => {
      await ctx.check(CheckName.REACH, 'src.example:1', async () => 'answers');
      const bound = await ctx.check(CheckName.BIND, 'cn=me', async () => {
        throw new DirsyncError(ErrorCode.INVALID_CREDENTIALS, `wrong password ${PASSWORD}`);
      });
      if (!bound) ctx.skip(CheckName.BASE_DN, 'dc=x', 'needs a successful bind');
    };
    const got = await checks();
    expect(got.map(view)).toEqual([
      { name: 'SETTINGS', target: '', status: 'OK', code: 'UNSPECIFIED' },
      { name: 'REACH', target: 'src.example:1', status: 'OK', code: 'UNSPECIFIED' },
      { name: 'BIND', target: 'cn=me', status: 'FAILED', code: 'INVALID_CREDENTIALS' },
      { name: 'BASE_DN', target: 'dc=x', status: 'SKIPPED', code: 'UNSPECIFIED' },
    ]);
    expect(got[1]?.message).toBe('answers');
    // the secret never leaves the connector, even when a connector puts it in a message
    expect(got[2]?.message).toBe('wrong password [redacted]');
    expect(got[3]?.message).toBe('needs a successful bind');
  });

  it('turns an unexpected error into INTERNAL without its text', async () => {
    script = async (ctx) => {
      await ctx.check(CheckName.SEARCH, '', async () => {
        throw new TypeError(`boom ${PASSWORD}`);
      });
    };
    const got = await checks();
    expect(view(got[1]!)).toMatchObject({ name: 'SEARCH', status: 'FAILED', code: 'INTERNAL' });
    expect(got[1]?.message).not.toMatch(/boom/);
  });

  it('answers at the deadline: the check in hand fails as unreachable, the signal aborts', async () => {
    let aborted = false;
    script = async (ctx) => {
      await ctx.check(CheckName.REACH, 'slow.example:389', async () => 'ok');
      await ctx.check(
        CheckName.BIND,
        'cn=me',
        () =>
          new Promise<string>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              aborted = true;
              resolve('too late');
            });
          }),
      );
      ctx.skip(CheckName.BASE_DN, '', 'not reported: the test is over');
    };
    const started = Date.now();
    const got = await checks(config, 1_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(got.map(view)).toEqual([
      { name: 'SETTINGS', target: '', status: 'OK', code: 'UNSPECIFIED' },
      { name: 'REACH', target: 'slow.example:389', status: 'OK', code: 'UNSPECIFIED' },
      { name: 'BIND', target: 'cn=me', status: 'FAILED', code: 'SOURCE_UNREACHABLE' },
    ]);
    expect(got[2]?.message).toBe("no answer from cn=me within the test's 1000 ms");
    expect(aborted).toBe(true);
  });

  it('says so when the connector cannot test connections', async () => {
    const reply = await plain.testConnection(config);
    expect(reply.outcome.case).toBe('result');
    const got = reply.outcome.case === 'result' ? reply.outcome.value.checks : [];
    expect(got.map(view)).toEqual([
      { name: 'SETTINGS', target: '', status: 'OK', code: 'UNSPECIFIED' },
      { name: 'REACH', target: '', status: 'SKIPPED', code: 'UNSPECIFIED' },
    ]);
  });
});
