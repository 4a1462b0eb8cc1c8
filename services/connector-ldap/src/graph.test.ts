import { describe, expect, it } from 'vitest';
import { computeScope, type GroupNode } from './graph.js';

function g(key: string, members: string[] = [], uids: string[] = []): GroupNode {
  return {
    dn: key,
    key,
    id: `id-${key}`,
    name: key,
    description: undefined,
    rawMembers: members,
    memberUids: uids,
  };
}

function graph(...nodes: GroupNode[]): Map<string, GroupNode> {
  return new Map(nodes.map((n) => [n.key, n]));
}

function membersOf(scope: ReturnType<typeof computeScope>, key: string): string[] {
  return [...(scope.members.get(key) ?? [])].map((i) => scope.refs[i] ?? '?').sort();
}

describe('#computeScope()', () => {
  it('includes nested groups and their members transitively', () => {
    const s = computeScope(
      graph(g('a', ['b', 'u1']), g('b', ['c', 'u2']), g('c', ['u3']), g('x', ['u4'])),
      ['a'],
    );
    expect(s.groups.map((n) => n.key).sort()).toEqual(['a', 'b', 'c']);
    expect(membersOf(s, 'a')).toEqual(['dn:u1', 'dn:u2', 'dn:u3']);
    expect(membersOf(s, 'b')).toEqual(['dn:u2', 'dn:u3']);
    expect(membersOf(s, 'c')).toEqual(['dn:u3']);
    expect(s.dnRefs.has('u4')).toBe(false);
    expect(s.cycles).toEqual([]);
  });

  it('handles diamonds without duplicates', () => {
    const s = computeScope(graph(g('a', ['b', 'c']), g('b', ['d']), g('c', ['d']), g('d', ['u'])), [
      'a',
    ]);
    expect(membersOf(s, 'a')).toEqual(['dn:u']);
    expect(s.refs).toEqual(['dn:u']);
  });

  it('merges a cycle, reports it once, and includes what hangs below it', () => {
    const s = computeScope(
      graph(g('a', ['b', 'u1']), g('b', ['c', 'u2']), g('c', ['a', 'd', 'u3']), g('d', ['u4'])),
      ['a'],
    );
    for (const k of ['a', 'b', 'c'])
      expect(membersOf(s, k)).toEqual(['dn:u1', 'dn:u2', 'dn:u3', 'dn:u4']);
    expect(membersOf(s, 'd')).toEqual(['dn:u4']);
    expect(s.cycles).toEqual([['a', 'b', 'c']]);
  });

  it('reports a self-loop as a cycle', () => {
    const s = computeScope(graph(g('a', ['a', 'u'])), ['a']);
    expect(membersOf(s, 'a')).toEqual(['dn:u']);
    expect(s.cycles).toEqual([['a']]);
  });

  it('reports two separate cycles separately', () => {
    const s = computeScope(graph(g('a', ['b']), g('b', ['a', 'c']), g('c', ['d']), g('d', ['c'])), [
      'a',
    ]);
    expect(s.cycles.map((c) => c.join('+')).sort()).toEqual(['a+b', 'c+d']);
  });

  it('keeps memberUid refs apart from DN refs and records who referenced a ref first', () => {
    const s = computeScope(graph(g('a', ['u1'], ['jdoe']), g('b', ['u1'], ['jdoe'])), ['a', 'b']);
    expect(s.refs.sort()).toEqual(['dn:u1', 'uid:jdoe']);
    expect(s.uidRefs.get('jdoe')).toBeDefined();
    expect(s.referencedBy.length).toBe(2);
  });

  it('survives nesting 20,000 levels deep (no recursion)', () => {
    const nodes: GroupNode[] = [];
    const depth = 20_000;
    for (let i = 0; i < depth; i++)
      nodes.push(g(`g${i}`, i + 1 < depth ? [`g${i + 1}`] : ['leaf-user']));
    // …and a loop from the bottom back to the top: one 20,000-group cycle.
    nodes.push(g('top', ['g0']));
    const s = computeScope(graph(...nodes), ['top']);
    expect(s.groups).toHaveLength(depth + 1);
    expect(membersOf(s, 'top')).toEqual(['dn:leaf-user']);
    expect(membersOf(s, `g${depth - 1}`)).toEqual(['dn:leaf-user']);
    const looped = computeScope(
      graph(...nodes.map((n) => (n.key === `g${depth - 1}` ? g(n.key, ['leaf-user', 'g0']) : n))),
      ['top'],
    );
    expect(looped.cycles).toHaveLength(1);
    expect(looped.cycles[0]).toHaveLength(depth);
  });

  it('ignores selected keys that are not groups (the caller reports them)', () => {
    expect(computeScope(graph(g('a', ['u'])), ['nope']).groups).toEqual([]);
  });
});
