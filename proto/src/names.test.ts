import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  LifecycleEntity,
  Stream,
  Subject,
  Transition,
  errorCodeFromName,
  errorCodeName,
  lifecycleEventId,
  lifecycleSubject,
  streamName,
  subject,
} from './index.js';

describe('streamName()', () => {
  it('reads names from names.proto', () => {
    expect(streamName(Stream.EVENTS)).toEqual({
      name: 'DIRSYNC_EVENTS',
      subjects: ['dirsync.events.>'],
    });
    expect(streamName(Stream.LIFECYCLE).subjects).toEqual([
      'dirsync.lifecycle.>',
      'dirsync.runs.>',
    ]);
  });
  it('applies a namespace to the name and every subject', () => {
    expect(streamName(Stream.JOBS, 't1')).toEqual({
      name: 't1_DIRSYNC_JOBS',
      subjects: ['t1.dirsync.jobs.>'],
    });
  });
  it('rejects a namespace that would break subjects', () => {
    expect(() => streamName(Stream.JOBS, 'a.b')).toThrow(/invalid NATS namespace/);
  });
});

describe('subject()', () => {
  it('fills templates', () => {
    expect(subject(Subject.EVENTS, { directory_id: 'd1' })).toBe('dirsync.events.d1');
    expect(subject(Subject.RUNS, { run_id: '*' }, 'ns')).toBe('ns.dirsync.runs.*');
  });
  it('refuses tokens that would widen a subject', () => {
    expect(() => subject(Subject.EVENTS, { directory_id: 'a.>' })).toThrow(/invalid subject token/);
    expect(() => subject(Subject.EVENTS, {})).toThrow(/needs "directory_id"/);
  });
});

describe('errorCodeName()', () => {
  it('round-trips without the prefix', () => {
    expect(errorCodeName(ErrorCode.INVALID_CREDENTIALS)).toBe('INVALID_CREDENTIALS');
    expect(errorCodeFromName('BASE_DN_NOT_FOUND')).toBe(ErrorCode.BASE_DN_NOT_FOUND);
    expect(errorCodeFromName('nope')).toBeUndefined();
  });
});

describe('lifecycleSubject()', () => {
  it('names entity and transition in lower case', () => {
    expect(lifecycleSubject(LifecycleEntity.USER, Transition.PENDING_DELETION)).toBe(
      'dirsync.lifecycle.user.pending_deletion',
    );
    expect(lifecycleSubject(LifecycleEntity.RUN, Transition.BLOCKED, 'ns')).toBe(
      'ns.dirsync.lifecycle.run.blocked',
    );
  });
  it('builds filters', () => {
    expect(lifecycleSubject(LifecycleEntity.USER, '>')).toBe('dirsync.lifecycle.user.>');
    expect(lifecycleSubject('*', Transition.PURGED)).toBe('dirsync.lifecycle.*.purged');
  });
  it('stays inside the lifecycle stream', () => {
    const lifecycle = streamName(Stream.LIFECYCLE).subjects;
    expect(lifecycle).toContain('dirsync.lifecycle.>');
    expect(() => lifecycleSubject(LifecycleEntity.UNSPECIFIED, Transition.CREATED)).toThrow();
  });
});

describe('lifecycleEventId()', () => {
  it('is entity:id:version:transition, and run:id:transition for runs', () => {
    expect(lifecycleEventId(LifecycleEntity.USER, 'u1', Transition.PENDING_DELETION, 3)).toBe(
      'user:u1:3:pending_deletion',
    );
    expect(lifecycleEventId(LifecycleEntity.ADMIN, 'a1', Transition.CREATED, 1)).toBe(
      'admin:a1:1:created',
    );
    expect(lifecycleEventId(LifecycleEntity.RUN, 'r1', Transition.BLOCKED)).toBe('run:r1:blocked');
  });
  it('refuses an entity event without a version', () => {
    expect(() => lifecycleEventId(LifecycleEntity.GROUP, 'g1', Transition.UPDATED)).toThrow();
    expect(() => lifecycleEventId(LifecycleEntity.USER, 'u1', Transition.UPDATED, 0)).toThrow();
  });
});

describe('request/reply subjects that carry secrets', () => {
  // A subject a stream captures is stored: config replies and connection tests carry the
  // directory's decrypted secrets, so no stream may capture them.
  const captured = (subj: string) =>
    [Stream.EVENTS, Stream.JOBS, Stream.LIFECYCLE].some((s) =>
      streamName(s).subjects.some((filter) => subj.startsWith(filter.replace(/>$/, ''))),
    );
  it('are captured by no stream', () => {
    const test = subject(Subject.CONNECTION_TESTS, { connector_kind: 'ldap' });
    expect(test).toBe('dirsync.control.test.ldap');
    expect(captured(test)).toBe(false);
    expect(captured(subject(Subject.CONFIG, { directory_id: 'd1' }))).toBe(false);
    expect(captured(subject(Subject.EVENTS, { directory_id: 'd1' }))).toBe(true);
  });
});

describe('connector heartbeats', () => {
  // Heartbeats must never be stored or queued behind a run's events (liveness.proto).
  it('ride a core NATS subject no stream captures', () => {
    const hb = subject(Subject.HEARTBEATS, { connector_kind: 'ldap' }, 'ns');
    expect(hb).toBe('ns.dirsync.control.heartbeat.ldap');
    const stored = [Stream.EVENTS, Stream.JOBS, Stream.LIFECYCLE].some((s) =>
      streamName(s, 'ns').subjects.some((f) => hb.startsWith(f.replace(/>$/, ''))),
    );
    expect(stored).toBe(false);
    expect(errorCodeName(ErrorCode.CONNECTOR_LOST)).toBe('CONNECTOR_LOST');
  });
});
