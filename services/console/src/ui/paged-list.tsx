import type { ReactNode } from 'react';
import type { useCursorPager } from '../lib/paging.js';
import { Empty, ErrorBox, Loading, Pager } from './components.js';

/** What a list shows of a Relay connection: the page's nodes and where the next page starts. */
export interface ListPage<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * One page of a cursor-paged list, the way every list of the console shows it: the query's
 * error, "Loading…" until the first page arrives (later pages keep the last one on screen), the
 * empty message, the rows (`children`), and the pager. `compactPager` hides the pager while
 * everything fits on one page (lists inside a card).
 */
export function PagedList<T>({
  page,
  pager,
  error,
  loading,
  empty,
  compactPager,
  children,
}: {
  page: ListPage<T> | null | undefined;
  pager: ReturnType<typeof useCursorPager>;
  error?: unknown;
  loading?: boolean;
  empty: ReactNode;
  compactPager?: boolean;
  children: (nodes: T[]) => ReactNode;
}) {
  const showPager = page && (!compactPager || pager.page > 0 || page.pageInfo.hasNextPage);
  return (
    <>
      <ErrorBox error={error} />
      {loading && !page ? <Loading /> : null}
      {page && page.nodes.length === 0 ? <Empty>{empty}</Empty> : null}
      {page?.nodes.length ? children(page.nodes) : null}
      {showPager ? (
        <Pager
          page={pager.page}
          hasNext={page.pageInfo.hasNextPage}
          onNext={() => pager.next(page.pageInfo.endCursor)}
          onPrevious={pager.previous}
          onFirst={pager.first}
        />
      ) : null}
    </>
  );
}

/** A column of a `Table`: its header and what a row shows in it. */
export interface Column<T> {
  header: ReactNode;
  cell: (row: T) => ReactNode;
  className?: string;
}

/**
 * A table of rows by columns. `rowAttributes` gives a row its `data-*` attributes (what tests and
 * styles find a row by: `data-user="jdoe"`).
 */
export function Table<T extends { id: string }>({
  rows,
  columns,
  className,
  rowAttributes,
  head = true,
}: {
  rows: T[];
  columns: (Column<T> | false | null | undefined)[];
  className: string;
  rowAttributes?: (row: T) => Record<`data-${string}`, string>;
  /** false: no header row (a list of members). */
  head?: boolean;
}) {
  const cols = columns.filter((c): c is Column<T> => !!c);
  return (
    <table className={`table ${className}`}>
      {head ? (
        <thead>
          <tr>
            {cols.map((c, i) => (
              <th key={i}>{c.header}</th>
            ))}
          </tr>
        </thead>
      ) : null}
      <tbody>
        {rows.map((row) => (
          <tr key={row.id} {...rowAttributes?.(row)}>
            {cols.map((c, i) => (
              <td key={i} className={c.className}>
                {c.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
