import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  ADMINS,
  CREATE_ADMIN,
  DELETE_ADMIN,
  UPDATE_ADMIN,
  type AdminInput,
} from '../graphql/operations.js';
import type { AdminRow } from '../graphql/types.js';
import { fieldProblems, problemsAt } from '../lib/errors.js';
import { personName, plural, words } from '../lib/format.js';
import { useCursorPager } from '../lib/paging.js';
import { Link, setQuery, useLocation } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Badge, ErrorBox, Field, PageHeader, Time } from '../ui/components.js';
import { PagedList, Table } from '../ui/paged-list.js';
import { DirectorySelect, SearchBox } from './users.js';

const ROLES = [
  'OWNER',
  'ADMINISTRATOR',
  'APPLICATION_MANAGER',
  'USER_MANAGER',
  'HELP_DESK',
  'BILLING',
  'PHISHING_MANAGER',
  'READ_ONLY',
];
const STATUSES = ['ACTIVE', 'DISABLED', 'PENDING_DELETION'];
/** What a change to the administrators refreshes: the list, its count, a directory's count. */
const REFETCH = ['Admins', 'DirectoryCounts'];

/**
 * Administrators: synced ones (from a directory's role groups; read-only here, their source
 * decides) and manual ones, which `admin:manage` (owners) creates, edits and deletes here.
 */
export function AdminsPage() {
  const { query } = useLocation();
  const canManage = useCan(Permission.ADMIN_MANAGE);
  const role = query.get('role');
  const status = query.get('status');
  const filter = {
    search: query.get('q') || null,
    directoryId: query.get('directory') || null,
    role: role ? [role] : null,
    status: status ? [status] : null,
  };
  const pager = useCursorPager(JSON.stringify(filter));
  const { data, error, loading, previousData } = useQuery(ADMINS, {
    variables: { filter, after: pager.after, first: 50 },
  });
  const page = (data ?? previousData)?.admins;
  // The form open: a new administrator, or the manual one being edited.
  const [editing, setEditing] = useState<AdminRow | 'new' | undefined>();
  return (
    <section>
      <PageHeader title="Administrators">
        {canManage ? (
          <button type="button" onClick={() => setEditing('new')} disabled={editing === 'new'}>
            Add administrator
          </button>
        ) : null}
        {page ? (
          <span className="muted" data-testid="admin-total">
            {plural(page.totalCount, 'administrator')}
          </span>
        ) : null}
      </PageHeader>
      {editing && canManage ? (
        <AdminForm
          key={editing === 'new' ? 'new' : editing.id}
          existing={editing === 'new' ? undefined : editing}
          onDone={() => setEditing(undefined)}
        />
      ) : null}
      <div className="filters">
        <SearchBox placeholder="e-mail or name" />
        <select
          aria-label="role"
          value={role ?? ''}
          onChange={(e) => setQuery({ role: e.target.value })}
        >
          <option value="">any role</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {words(r)}
            </option>
          ))}
        </select>
        <select
          aria-label="status"
          value={status ?? ''}
          onChange={(e) => setQuery({ status: e.target.value })}
        >
          <option value="">any status</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {words(s)}
            </option>
          ))}
        </select>
        <DirectorySelect />
      </div>
      <PagedList
        page={page}
        pager={pager}
        error={error}
        loading={loading}
        empty="No administrators match."
      >
        {(nodes) => (
          <Table
            className="admins"
            rows={nodes}
            rowAttributes={(a) => ({
              'data-admin': a.email,
              'data-admin-source': a.synced ? 'synced' : 'manual',
            })}
            columns={[
              { header: 'E-mail', cell: (a) => a.email },
              { header: 'Name', cell: (a) => personName(a) },
              {
                header: 'Role',
                cell: (a) => <span title={a.roles.map(words).join(', ')}>{words(a.role)}</span>,
              },
              { header: 'Status', cell: (a) => <Badge value={a.status} /> },
              {
                header: 'Source',
                cell: (a) =>
                  a.directory ? (
                    <Link to={`/directories/${a.directory.id}`}>{a.directory.name}</Link>
                  ) : (
                    <span className="muted">{a.synced ? 'deleted directory' : 'manual'}</span>
                  ),
              },
              { header: 'Last sync', cell: (a) => <Time iso={a.syncedAt} /> },
              canManage && {
                header: '',
                className: 'row-actions',
                cell: (a) =>
                  a.synced ? (
                    <ReadOnlyReason admin={a} />
                  ) : (
                    <ManualActions admin={a} onEdit={() => setEditing(a)} />
                  ),
              },
            ]}
          />
        )}
      </PagedList>
    </section>
  );
}

/** Why a synced administrator has no buttons: the API answers READ_ONLY for it. */
function ReadOnlyReason({ admin }: { admin: AdminRow }) {
  return (
    <span className="muted read-only-reason" data-testid="read-only">
      read-only:{' '}
      {admin.directory
        ? `synced from ${admin.directory.name}; change its role groups in the source`
        : 'its directory was deleted; it leaves when its restore window ends'}
    </span>
  );
}

function ManualActions({ admin, onEdit }: { admin: AdminRow; onEdit: () => void }) {
  const [remove, removal] = useMutation(DELETE_ADMIN, { refetchQueries: REFETCH });
  return (
    <>
      <button type="button" onClick={onEdit}>
        Edit
      </button>
      <button
        type="button"
        className="danger"
        disabled={removal.loading}
        onClick={() => {
          if (!confirm(`Delete the administrator ${admin.email}? This cannot be undone.`)) return;
          void remove({ variables: { id: admin.id } }).catch(() => undefined);
        }}
      >
        Delete
      </button>
      <ErrorBox error={removal.error} />
    </>
  );
}

/**
 * Create a manual administrator, or change one (e-mail, role, names, disabled). The API checks;
 * each problem it names a field of (BAD_USER_INPUT, a CONFLICT on the e-mail) is shown beside
 * that field, anything else above the form.
 */
function AdminForm({ existing, onDone }: { existing?: AdminRow; onDone: () => void }) {
  const [f, setF] = useState(() => ({
    email: existing?.email ?? '',
    role: existing?.role ?? 'READ_ONLY',
    firstName: existing?.firstName ?? '',
    lastName: existing?.lastName ?? '',
    displayName: existing?.displayName ?? '',
    disabled: existing?.status === 'DISABLED',
  }));
  const [create, created] = useMutation(CREATE_ADMIN, { refetchQueries: REFETCH });
  const [update, updated] = useMutation(UPDATE_ADMIN, { refetchQueries: REFETCH });
  const state = existing ? updated : created;
  const problems = fieldProblems(state.error);
  const set = (k: keyof typeof f, v: string | boolean) => setF((x) => ({ ...x, [k]: v }));
  const orNull = (v: string) => (v.trim() === '' ? null : v.trim());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: AdminInput = {
      email: f.email.trim(),
      role: f.role,
      firstName: orNull(f.firstName),
      lastName: orNull(f.lastName),
      displayName: orNull(f.displayName),
    };
    const res = existing
      ? await update({
          variables: { id: existing.id, input: { ...input, disabled: f.disabled } },
        }).catch(() => undefined)
      : await create({ variables: { input } }).catch(() => undefined);
    if (res?.data) onDone();
  };

  const text = (k: 'email' | 'firstName' | 'lastName' | 'displayName', label: string) => (
    <Field label={label} name={k} problems={problemsAt(problems, k)}>
      <input
        name={k}
        type={k === 'email' ? 'email' : 'text'}
        value={f[k]}
        autoComplete="off"
        onChange={(e) => set(k, e.target.value)}
      />
    </Field>
  );
  return (
    <form
      className="card admin-form"
      data-testid="admin-form"
      onSubmit={(e) => void submit(e)}
      noValidate
    >
      <h2>{existing ? `Edit ${existing.email}` : 'Add a manual administrator'}</h2>
      <p className="hint">
        A manual administrator belongs to no directory. An admin sync that finds the same e-mail in
        a role group takes it over (then synced and read-only).
      </p>
      {problems.length ? null : <ErrorBox error={state.error} />}
      {text('email', 'E-mail')}
      <Field label="Role" name="role" problems={problemsAt(problems, 'role')}>
        <select name="role" value={f.role} onChange={(e) => set('role', e.target.value)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {words(r)}
            </option>
          ))}
        </select>
      </Field>
      {text('firstName', 'First name')}
      {text('lastName', 'Last name')}
      {text('displayName', 'Display name')}
      {existing ? (
        <Field label="Disabled" name="disabled" problems={problemsAt(problems, 'disabled')}>
          <input
            type="checkbox"
            name="disabled"
            checked={f.disabled}
            onChange={(e) => set('disabled', e.target.checked)}
          />
        </Field>
      ) : null}
      <div className="form-actions">
        <button type="submit" className="primary" disabled={state.loading}>
          {existing ? 'Save' : 'Create administrator'}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
