import { describe, expect, it } from 'vitest';
import { errorClass, isTransientDatabaseError } from './errors.js';

/** What `pg` throws for an error the server reported. */
class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly severity = 'ERROR',
  ) {
    super(message);
    this.name = 'error';
  }
}

describe('isTransientDatabaseError()', () => {
  it('retries what a database that is away or busy raises', () => {
    expect(isTransientDatabaseError(new DatabaseError('terminating connection', '57P01'))).toBe(
      true,
    );
    expect(isTransientDatabaseError(new DatabaseError('deadlock detected', '40P01'))).toBe(true);
    expect(isTransientDatabaseError(new DatabaseError('too many clients', '53300'))).toBe(true);
    expect(isTransientDatabaseError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(
      true,
    );
    const timeout = new Error('Knex: Timeout acquiring a connection');
    timeout.name = 'KnexTimeoutError';
    expect(isTransientDatabaseError(timeout)).toBe(true);
    expect(isTransientDatabaseError(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('gives up on what the same input raises every time', () => {
    expect(isTransientDatabaseError(new DatabaseError('index row size', '54000'))).toBe(false);
    expect(isTransientDatabaseError(new DatabaseError('invalid byte sequence', '22021'))).toBe(
      false,
    );
    expect(isTransientDatabaseError(new DatabaseError('statement timeout', '57014'))).toBe(false);
    expect(isTransientDatabaseError(new TypeError('x is undefined'))).toBe(false);
  });
});

describe('errorClass()', () => {
  it('names the class and the SQLSTATE, never the message', () => {
    expect(errorClass(new DatabaseError('secret value', '22021'))).toBe(
      'DatabaseError (SQLSTATE 22021)',
    );
    expect(errorClass(new TypeError('secret'))).toBe('TypeError');
    expect(errorClass(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe('Error');
    expect(errorClass('a string')).toBe('String');
    expect(errorClass(undefined)).toBe('Error');
  });
});
