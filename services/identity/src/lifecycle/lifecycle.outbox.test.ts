import { LifecycleEntity, Transition, UserState } from '@dirsync/proto';
import { describe, expect, it } from 'vitest';
import {
  MAX_EVENTS_PER_MESSAGE,
  chunkEvents,
  emitLifecycle,
  stateOf,
  syncTransition,
  userEvent,
} from './lifecycle.outbox.js';
import type { Sql } from '../db/sql.js';

function ev(id: string, transition: Transition, version = 1) {
  return userEvent(
    transition,
    {
      id,
      directoryId: 'd',
      externalId: `x-${id}`,
      username: id,
      email: null,
      displayName: null,
      status: 'active',
      previousStatus: null,
      version,
    },
    { runId: 'r' },
  );
}

describe('syncTransition()', () => {
  it('status changes outrank attribute changes', () => {
    expect(syncTransition(undefined, 'disabled')).toBe(Transition.CREATED);
    expect(syncTransition('pending_deletion', 'active')).toBe(Transition.RESTORED);
    expect(syncTransition('pending_deletion', 'bypass')).toBe(Transition.RESTORED);
    expect(syncTransition('active', 'disabled')).toBe(Transition.DISABLED);
    expect(syncTransition('bypass', 'disabled')).toBe(Transition.DISABLED);
    expect(syncTransition('disabled', 'active')).toBe(Transition.ENABLED);
    expect(syncTransition('active', 'active')).toBe(Transition.UPDATED);
    expect(syncTransition('bypass', 'bypass')).toBe(Transition.UPDATED);
  });
  it('maps stored statuses to states', () => {
    expect(stateOf('pending_deletion')).toBe(UserState.PENDING_DELETION);
    expect(stateOf(null)).toBe(UserState.UNSPECIFIED);
  });
});

describe('chunkEvents()', () => {
  it('one message per entity and transition, in first-seen order, at most the maximum', () => {
    const events = [
      ...Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, (_, i) =>
        ev(`c${i}`, Transition.CREATED),
      ),
      ev('d1', Transition.DISABLED, 2),
      ev('c-late', Transition.CREATED),
    ];
    const chunks = chunkEvents(events);
    expect(chunks.map((c) => [c.transition, c.events.length])).toEqual([
      [Transition.CREATED, MAX_EVENTS_PER_MESSAGE],
      [Transition.CREATED, 2],
      [Transition.DISABLED, 1],
    ]);
    expect(chunks.every((c) => c.entity === LifecycleEntity.USER)).toBe(true);
  });
  it('keeps the order of one entity’s transitions', () => {
    const chunks = chunkEvents([
      ev('a', Transition.CREATED, 1),
      ev('b', Transition.DISABLED, 2),
      ev('b', Transition.CREATED, 3),
    ]);
    // b's CREATED (version 3) must not go into the first message, before its DISABLED.
    expect(chunks.map((c) => c.events.map((e) => e.eventId))).toEqual([
      ['user:a:1:created'],
      ['user:b:2:disabled'],
      ['user:b:3:created'],
    ]);
  });
});

describe('emitLifecycle()', () => {
  it('refuses a statement outside a Database.tx() transaction', () => {
    const sql: Sql = { rows: async () => [], exec: async () => 0, copyFrom: async () => 0 };
    expect(() => emitLifecycle(sql, [ev('a', Transition.CREATED)])).toThrow(/transaction/);
  });
});
