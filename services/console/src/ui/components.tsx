import type { ReactNode } from 'react';
import { exactTime, fieldSentence, relativeTime, sentence, words } from '../lib/format.js';
import { problemsOf, type FieldProblem } from '../lib/errors.js';

/** A status as a coloured label (`data-status` for tests and styles). */
export function Badge({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="badge">—</span>;
  return (
    <span className={`badge badge-${value.toLowerCase()}`} data-status={value}>
      {words(value)}
    </span>
  );
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso)}
    </time>
  );
}

/** Errors of a query or mutation: message and code, one per line. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const problems = problemsOf(error);
  if (!problems.length) return null;
  return (
    <div className="error-box" role="alert">
      {title ? <strong>{title}</strong> : null}
      <ul>
        {problems.map((p, i) => (
          <li key={i}>
            {sentence(p.message)} <code className="code-tag">{p.code}</code>
          </li>
        ))}
      </ul>
    </div>
  );
}

export function Loading() {
  return <p className="muted loading">Loading…</p>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty muted">{children}</p>;
}

export function PageHeader({ title, children }: { title: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children ? <div className="actions">{children}</div> : null}
    </header>
  );
}

/**
 * Keyset paging: `Next` passes the page's end cursor; `Previous` goes back along the cursors
 * seen so far. Every page costs the same however deep it is (the API pages by cursor, not
 * offset).
 */
export function Pager({
  page,
  hasNext,
  onNext,
  onPrevious,
  onFirst,
}: {
  page: number;
  hasNext: boolean;
  onNext: () => void;
  onPrevious: () => void;
  onFirst: () => void;
}) {
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" onClick={onFirst} disabled={page === 0}>
        « First
      </button>
      <button type="button" onClick={onPrevious} disabled={page === 0}>
        ‹ Previous
      </button>
      <span className="muted">page {page + 1}</span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next ›
      </button>
    </nav>
  );
}

/** A labelled form field with its problems from a BAD_USER_INPUT answer. */
export function Field({
  label,
  name,
  problems,
  hint,
  children,
}: {
  label: string;
  /** The input path (`ldap.url`), shown with the problems and used by tests. */
  name: string;
  problems: FieldProblem[];
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className={`field${problems.length ? ' field-invalid' : ''}`} data-field={name}>
      <label>
        <span className="label">{label}</span>
        {children}
      </label>
      {hint ? <small className="hint">{hint}</small> : null}
      {problems.map((p, i) => (
        <small key={i} className="field-error" role="alert">
          {fieldSentence(label, name, p.field, p.message)}
          {/* The stable code stays visible for support and scripts, after the sentence. */}
          {p.code ? <code className="code-tag"> {p.code}</code> : null}
        </small>
      ))}
    </div>
  );
}

export function Dl({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="dl">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? <span className="muted">—</span>}</dd>
        </div>
      ))}
    </dl>
  );
}
