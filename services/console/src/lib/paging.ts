import { useState } from 'react';

/**
 * Cursor paging state for one list: the cursors of the pages visited so far, reset whenever
 * `resetKey` (the filters) changes. Going back reuses a cursor already seen; nothing counts
 * rows to skip, so page 2,000 of 100,000 users costs what page 1 costs.
 */
export function useCursorPager(resetKey: string) {
  const [state, setState] = useState<{ key: string; cursors: (string | null)[] }>({
    key: resetKey,
    cursors: [null],
  });
  let cursors = state.cursors;
  if (state.key !== resetKey) {
    cursors = [null];
    setState({ key: resetKey, cursors });
  }
  const page = cursors.length - 1;
  return {
    page,
    after: cursors[page] ?? null,
    next(endCursor: string | null | undefined) {
      if (endCursor) setState({ key: resetKey, cursors: [...cursors, endCursor] });
    },
    previous() {
      if (page > 0) setState({ key: resetKey, cursors: cursors.slice(0, -1) });
    },
    first() {
      setState({ key: resetKey, cursors: [null] });
    },
  };
}
