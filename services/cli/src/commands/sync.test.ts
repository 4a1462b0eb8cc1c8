import { describe, expect, it } from 'vitest';
import type { RunChange } from '../queries.js';
import { formatChanges, formatValue } from './sync.js';

const change = (c: Partial<RunChange>): RunChange => ({
  kind: 'UPDATED',
  username: 'ava',
  groupName: null,
  email: null,
  changedFields: [],
  fields: [],
  status: null,
  previousStatus: null,
  role: null,
  previousRole: null,
  removalReason: null,
  addedGroupIds: [],
  removedGroupIds: [],
  errorCode: null,
  errorMessage: null,
  sourceLocator: null,
  ...c,
});

describe('#formatValue()', () => {
  it('prints JSON, null for nothing, and cuts long values', () => {
    expect(formatValue('Ava')).toBe('"Ava"');
    expect(formatValue(null)).toBe('null');
    expect(formatValue(['a', 'b'])).toBe('["a","b"]');
    const long = formatValue('x'.repeat(100));
    expect(long).toHaveLength(40);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('#formatChanges()', () => {
  it('shows old → new for updates, and the groups joined and left by name', () => {
    const out = formatChanges({
      totalCount: 3,
      nodes: [
        change({
          changedFields: ['displayName', 'email'],
          fields: [
            { field: 'displayName', old: 'Ava', new: 'Ava A.' },
            { field: 'email', old: null, new: 'ava@example.org' },
          ],
        }),
        change({
          kind: 'MEMBERSHIP',
          addedGroupIds: ['g1'],
          removedGroupIds: ['g2', 'g3'],
          addedGroups: ['Staff'],
          removedGroups: ['Admins', 'g3'],
        }),
        // CREATED lists every imported field: the names say enough.
        change({
          kind: 'CREATED',
          changedFields: ['username', 'email'],
          fields: [{ field: 'username', old: null, new: 'ava' }],
        }),
      ],
    });
    expect(out).toContain('displayName: "Ava" → "Ava A."; email: null → "ava@example.org"');
    expect(out).toContain('joined Staff; left Admins, g3');
    expect(out).toMatch(/CREATED\s+ava\s+username, email\n/);
  });
});
