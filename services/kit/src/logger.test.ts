import { describe, expect, it } from 'vitest';
import { createLogger, serializeError } from './logger.js';

/**
 * The shape MikroORM gives a failed statement: a `DriverException` subclass whose message is the
 * statement with the values written in, carrying node-postgres' fields (`code`, `detail`, …).
 */
class UniqueConstraintViolationException extends Error {
  code = '23505';
  severity = 'ERROR';
  detail = 'Key (name)=(Corp) already exists.';
  constraint = 'directories_name_key';
  table = 'directories';
  routine = '_bt_check_unique';
}

const STATEMENT =
  'insert into "sync"."directories" ("name", "bind_password_enc") values (\'Corp\', \'v1:k1:CIPHERTEXT\') - duplicate key value violates unique constraint "directories_name_key"';

function logged(obj: Record<string, unknown>): string {
  const lines: string[] = [];
  createLogger('test', 'info', { write: (l) => lines.push(l) }).error(obj, 'failed');
  return lines.join('');
}

describe('error logging', () => {
  it('logs a database error by SQLSTATE and constraint, never its statement or values', () => {
    const line = logged({ err: new UniqueConstraintViolationException(STATEMENT) });
    expect(line).not.toContain('CIPHERTEXT');
    expect(line).not.toContain('insert into');
    expect(line).not.toContain('Corp');
    expect(JSON.parse(line).err).toMatchObject({
      type: 'UniqueConstraintViolationException',
      code: '23505',
      constraint: 'directories_name_key',
      table: 'directories',
    });
  });

  it('strips a database error that is the cause of another, also under `error`', () => {
    const wrapped = new Error('could not save the directory', {
      cause: Object.assign(new Error(STATEMENT), { sqlState: '22021', severity: 'ERROR' }),
    });
    for (const key of ['err', 'error']) {
      const line = logged({ [key]: wrapped });
      expect(line).not.toContain('CIPHERTEXT');
      expect(line).toContain('could not save the directory');
      expect(JSON.parse(line)[key].cause).toMatchObject({ code: '22021' });
    }
  });

  it('keeps other errors as pino writes them', () => {
    expect(serializeError(new TypeError('boom'))).toMatchObject({
      type: 'TypeError',
      message: 'boom',
    });
  });
});
