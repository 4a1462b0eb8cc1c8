import { useState, type FormEvent, type ReactNode } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import {
  CREATE_DIRECTORY,
  DIRECTORY,
  TEST_DIRECTORY_SETTINGS,
  UPDATE_DIRECTORY,
} from '../graphql/operations.js';
import { ConnectionTestResult } from '../ui/connection-test.js';
import type { DirectoryDetail } from '../graphql/types.js';
import { fieldProblems, problemsAt, type FieldProblem } from '../lib/errors.js';
import { Link, navigate } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Empty, ErrorBox, Field, Loading, PageHeader } from '../ui/components.js';
import {
  ADMIN_ROLES,
  buildCreateInput,
  buildTestInput,
  buildUpdateInput,
  formFromDirectory,
  KINDS,
  localProblems,
  remapProblems,
  newForm,
  type FormState,
  type SourceKind,
} from './directory-input.js';

/** Create (no id) or edit a directory of any source kind; problems are shown by field. */
export function DirectoryFormPage({ id }: { id?: string }) {
  const canManage = useCan(Permission.DIRECTORY_MANAGE);
  const { data, loading, error } = useQuery(DIRECTORY, {
    variables: { id: id ?? '' },
    skip: !id,
    fetchPolicy: 'network-only',
  });
  if (!canManage) return <Empty>Only owners manage directories.</Empty>;
  if (id && loading) return <Loading />;
  if (id && error) return <ErrorBox error={error} />;
  if (id && !data?.directory) return <Empty>No directory {id}.</Empty>;
  return <DirectoryForm existing={data?.directory ?? undefined} />;
}

function DirectoryForm({ existing }: { existing: DirectoryDetail | undefined }) {
  const [form, setForm] = useState<FormState>(() =>
    existing ? formFromDirectory(existing) : newForm('openldap'),
  );
  const [local, setLocal] = useState<FieldProblem[]>([]);
  const [create, created] = useMutation(CREATE_DIRECTORY);
  const [update, updated] = useMutation(UPDATE_DIRECTORY);
  const [testSettings, tested] = useMutation(TEST_DIRECTORY_SETTINGS);
  // The last answer decides whose problems are shown: the save's or the test's.
  const [lastAction, setLastAction] = useState<'save' | 'test'>('save');
  const state = existing ? updated : created;
  const shownError = lastAction === 'test' ? tested.error : state.error;
  const problems = [...local, ...remapProblems(fieldProblems(shownError), form)];
  const kind = form.kind as SourceKind;
  const isLdap = kind !== 'entra';

  const set = (path: string, value: string | boolean) => setForm((f) => ({ ...f, [path]: value }));
  const str = (path: string) => String(form[path] ?? '');
  const at = (path: string) => problemsAt(problems, path);

  const runTest = () => {
    const mine = localProblems(form);
    setLocal(mine);
    setLastAction('test');
    if (mine.length) return;
    void testSettings({ variables: { input: buildTestInput(form, existing?.id) } }).catch(
      () => undefined,
    );
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const mine = localProblems(form);
    setLocal(mine);
    setLastAction('save');
    if (mine.length) return;
    const refetchQueries = ['Directories'];
    if (existing) {
      const res = await update({
        variables: { id: existing.id, input: buildUpdateInput(form, existing) },
        refetchQueries,
      }).catch(() => undefined);
      if (res?.data) navigate(`/directories/${existing.id}`);
    } else {
      const res = await create({
        variables: { input: buildCreateInput(form) },
        refetchQueries,
      }).catch(() => undefined);
      if (res?.data) navigate(`/directories/${res.data.createDirectory.id}`);
    }
  };

  const text = (
    path: string,
    label: string,
    opts: { hint?: ReactNode; placeholder?: string; type?: string } = {},
  ) => (
    <Field label={label} name={path} problems={at(path)} hint={opts.hint}>
      <input
        name={path}
        type={opts.type ?? 'text'}
        placeholder={opts.placeholder}
        value={str(path)}
        autoComplete={opts.type === 'password' ? 'new-password' : 'off'}
        onChange={(e) => set(path, e.target.value)}
      />
    </Field>
  );
  const area = (
    path: string,
    label: string,
    opts: { hint?: ReactNode; placeholder?: string; rows?: number } = {},
  ) => (
    <Field label={label} name={path} problems={at(path)} hint={opts.hint}>
      <textarea
        name={path}
        rows={opts.rows ?? 3}
        placeholder={opts.placeholder}
        value={str(path)}
        onChange={(e) => set(path, e.target.value)}
      />
    </Field>
  );
  const check = (path: string, label: string, hint?: ReactNode) => (
    <Field label={label} name={path} problems={at(path)} hint={hint}>
      <input
        name={path}
        type="checkbox"
        checked={form[path] === true}
        onChange={(e) => set(path, e.target.checked)}
      />
    </Field>
  );
  // Problems the server named for fields this form does not show (kept visible, never lost).
  const shown = new Set(Object.keys(form).filter((k) => k !== 'kind'));
  const elsewhere = problems.filter(
    (p) => ![...shown].some((path) => problemsAt([p], path).length > 0),
  );

  return (
    <section>
      <PageHeader title={existing ? `Edit ${existing.name}` : 'Add a directory'}>
        <Link to={existing ? `/directories/${existing.id}` : '/directories'}>Cancel</Link>
      </PageHeader>
      <form className="directory-form" onSubmit={(e) => void submit(e)} noValidate>
        {problems.length ? (
          <div className="error-box" role="alert">
            <strong>
              {problems.length === 1 ? 'One field needs' : `${problems.length} fields need`}{' '}
              attention.
            </strong>
            {elsewhere.length ? (
              <ul>
                {elsewhere.map((p, i) => (
                  <li key={i}>
                    <code>{p.field}</code> {p.message}
                  </li>
                ))}
              </ul>
            ) : null}
          </div>
        ) : (
          <ErrorBox error={shownError} />
        )}
        <fieldset>
          <legend>Source</legend>
          <div className="kind-picker" role="radiogroup" aria-label="kind">
            {KINDS.map(([k, label]) => (
              <label key={k} className={kind === k ? 'selected' : undefined}>
                <input
                  type="radio"
                  name="kind"
                  value={k}
                  checked={kind === k}
                  disabled={!!existing && (k === 'entra') !== (kind === 'entra')}
                  onChange={() =>
                    setForm((f) => ({ ...newForm(k as SourceKind), ...keepCommon(f) }))
                  }
                />
                {label}
              </label>
            ))}
          </div>
          {text('name', 'Name')}
        </fieldset>

        {isLdap ? (
          <fieldset>
            <legend>Connection</legend>
            {text('ldap.url', 'Server URL', {
              placeholder:
                kind === 'activedirectory'
                  ? 'ldaps://dc1.corp.example:636'
                  : 'ldaps://ldap.example.org:636',
              hint: 'ldaps://, or ldap:// with StartTLS',
            })}
            {text('ldap.bindDn', 'Bind DN', {
              placeholder: 'cn=dirsync,ou=services,dc=example,dc=org',
            })}
            {text('bindPassword', 'Bind password', {
              type: 'password',
              hint: existing?.hasBindPassword
                ? 'Stored encrypted; leave empty to keep it.'
                : 'Stored encrypted; never shown again.',
            })}
            {text('ldap.baseDn', 'Base DN', { placeholder: 'dc=example,dc=org' })}
            {text('ldap.userBaseDn', 'User base DN', { hint: 'Optional; default: the base DN' })}
            {text('ldap.groupBaseDn', 'Group base DN', { hint: 'Optional; default: the base DN' })}
            {text('ldap.userFilter', 'User filter', { placeholder: '(objectClass=inetOrgPerson)' })}
            {check('ldap.startTls', 'StartTLS on ldap://')}
            {check('ldap.tlsRejectUnauthorized', 'Verify the server certificate')}
            {kind === 'activedirectory'
              ? check(
                  'ldap.allowPlainLdap',
                  'Allow plain ldap:// without TLS',
                  'Sends the bind password in clear; for test domains only.',
                )
              : null}
            {area('ldap.tlsCaPem', 'CA certificate (PEM)', {
              hint: 'If not in the system store',
              rows: 2,
            })}
            {text('ldap.pageSize', 'Page size', { type: 'number' })}
            {text('ldap.timeoutMs', 'Timeout (ms)', { type: 'number' })}
          </fieldset>
        ) : (
          <fieldset>
            <legend>Connection</legend>
            {text('entra.tenantId', 'Tenant', {
              placeholder: 'contoso.onmicrosoft.com or tenant id',
            })}
            {text('entra.clientId', 'Application (client) id')}
            <Field label="Credential" name="entra.credential" problems={at('entra.credential')}>
              <select
                name="entra.credential"
                value={str('entra.credential')}
                onChange={(e) => set('entra.credential', e.target.value)}
              >
                <option value="clientSecret">client secret</option>
                <option value="clientCertificate">client certificate</option>
              </select>
            </Field>
            {str('entra.credential') === 'clientCertificate'
              ? area('clientCertificate', 'Certificate and private key (PEM)', {
                  hint: existing?.hasBindPassword
                    ? 'Leave empty to keep the stored one.'
                    : 'Stored encrypted.',
                })
              : text('clientSecret', 'Client secret', {
                  type: 'password',
                  hint: existing?.hasBindPassword
                    ? 'Leave empty to keep the stored one.'
                    : 'Stored encrypted.',
                })}
            <Field label="Cloud" name="entra.cloud" problems={at('entra.cloud')}>
              <select
                name="entra.cloud"
                value={str('entra.cloud')}
                onChange={(e) => set('entra.cloud', e.target.value)}
              >
                <option value="global">global</option>
                <option value="usgov">US government</option>
                <option value="usgovdod">US government DoD</option>
                <option value="china">China</option>
              </select>
            </Field>
            {text('entra.loginUrl', 'Login URL', { hint: 'Optional; overrides the cloud' })}
            {text('entra.graphUrl', 'Graph URL', { hint: 'Optional; overrides the cloud' })}
            {area('entra.tlsCaPem', 'CA certificate (PEM)', { rows: 2 })}
            {text('entra.pageSize', 'Page size', { type: 'number' })}
          </fieldset>
        )}

        <fieldset>
          <legend>Scope</legend>
          {area('selectedGroups', 'Selected groups', {
            rows: 4,
            hint: isLdap
              ? 'One group DN per line (up to 400); their members, nested included, are imported.'
              : 'One group object id per line (up to 400).',
          })}
        </fieldset>

        <fieldset>
          <legend>Attributes</legend>
          {text('mapping.username', 'Username', { placeholder: defaultUsername(kind) })}
          {text('mapping.aliases', 'Aliases', { hint: 'Up to 4 attributes, comma-separated' })}
          {text('mapping.email', 'E-mail')}
          {text('mapping.firstName', 'First name')}
          {text('mapping.lastName', 'Last name')}
          {text('mapping.displayName', 'Display name')}
          {text('mapping.phones', 'Phones', { hint: 'Comma-separated attributes' })}
          {area('mapping.custom', 'Custom attributes', {
            hint: 'One per line: name=attribute',
            rows: 2,
          })}
          {text('defaultRegion', 'Phone region', {
            hint: 'ISO country code for numbers without one',
            placeholder: 'US',
          })}
        </fieldset>

        <fieldset>
          <legend>Schedule and safety</legend>
          {text('scheduleIntervalMinutes', 'Full sync every (minutes)', {
            type: 'number',
            hint: '0 = on demand only',
          })}
          {text('deltaIntervalMinutes', 'Delta sync every (minutes)', {
            type: 'number',
            hint: '0 = off',
          })}
          {text('restoreWindowDays', 'Restore window (days)', { type: 'number' })}
          {text('deletionThreshold.maxCount', 'Block a sync removing more than', {
            type: 'number',
            hint: 'users or as many memberships (full and delta runs), administrators (admin runs); 0 = no count limit',
          })}
          {text('deletionThreshold.maxPercent', '… or more than (%)', {
            type: 'number',
            hint: "of the directory's users, memberships or administrators; 0 = no percentage limit",
          })}
          <Field
            label="Username held by another directory"
            name="conflictPolicy"
            problems={at('conflictPolicy')}
            hint="A manual user's username is always claimed"
          >
            <select
              name="conflictPolicy"
              value={str('conflictPolicy')}
              onChange={(e) => set('conflictPolicy', e.target.value)}
            >
              <option value="REPORT">report it, leave the other user alone</option>
              <option value="TAKE_OVER">take the user over (same id)</option>
            </select>
          </Field>
          {check('enabled', 'Enabled')}
        </fieldset>

        {isLdap ? (
          <fieldset>
            <legend>Administrators</legend>
            <p className="hint">
              Members of these groups become dirsync administrators with the role (one group DN per
              line; empty = role not synced).
            </p>
            {ADMIN_ROLES.map((role) =>
              area(`adminRoles.${role}`, role.toLowerCase().replace(/_/g, ' '), { rows: 1 }),
            )}
            {text('adminScheduleIntervalMinutes', 'Admin sync every (minutes)', { type: 'number' })}
          </fieldset>
        ) : null}

        {tested.data && lastAction === 'test' ? (
          <ConnectionTestResult test={tested.data.testDirectorySettings} />
        ) : null}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={state.loading}>
            {existing ? 'Save' : 'Create directory'}
          </button>
          <button type="button" onClick={runTest} disabled={tested.loading}>
            {tested.loading ? 'Testing…' : 'Test connection'}
          </button>
        </div>
      </form>
    </section>
  );
}

function keepCommon(f: FormState): FormState {
  const out: FormState = {};
  for (const k of [
    'name',
    'selectedGroups',
    'scheduleIntervalMinutes',
    'deltaIntervalMinutes',
    'restoreWindowDays',
    'enabled',
    'defaultRegion',
  ]) {
    if (f[k] !== undefined) out[k] = f[k]!;
  }
  return out;
}

function defaultUsername(kind: SourceKind): string {
  return kind === 'activedirectory'
    ? 'sAMAccountName'
    : kind === 'entra'
      ? 'userPrincipalName'
      : 'uid';
}
