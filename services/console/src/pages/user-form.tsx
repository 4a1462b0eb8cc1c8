import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { CREATE_USER, UPDATE_USER, USER, type ManualUserInput } from '../graphql/operations.js';
import type { UserDetail } from '../graphql/types.js';
import { fieldProblems, problemsAt } from '../lib/errors.js';
import { Link, navigate } from '../lib/router.js';
import { Permission, useCan } from '../lib/viewer.js';
import { Empty, ErrorBox, Field, Loading, PageHeader } from '../ui/components.js';

/**
 * A manual user (not from any directory): create one, or edit one. Synced users have no form —
 * their fields come from the source (the API answers READ_ONLY).
 */
export function UserFormPage({ id }: { id?: string }) {
  const canManage = useCan(Permission.USER_MANAGE);
  const { data, loading, error } = useQuery(USER, {
    variables: { id: id ?? '' },
    skip: !id,
    fetchPolicy: 'network-only',
  });
  if (!canManage) return <Empty>Your role does not manage users.</Empty>;
  if (id && loading) return <Loading />;
  if (id && error) return <ErrorBox error={error} />;
  const user = data?.user ?? undefined;
  if (id && !user) return <Empty>No user {id}.</Empty>;
  if (user?.synced) {
    return (
      <Empty>
        {user.username} is synced from {user.directory?.name ?? 'a directory'}: change it in the
        source.
      </Empty>
    );
  }
  return <UserForm existing={user} />;
}

const split = (v: string) =>
  v
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function UserForm({ existing }: { existing: UserDetail | undefined }) {
  const [f, setF] = useState(() => ({
    username: existing?.username ?? '',
    aliases: existing?.aliases.join(', ') ?? '',
    email: existing?.email ?? '',
    firstName: existing?.firstName ?? '',
    lastName: existing?.lastName ?? '',
    displayName: existing?.displayName ?? '',
    phones: existing?.phones.map((p) => p.number).join(', ') ?? '',
    disabled: existing?.status === 'DISABLED',
  }));
  const [create, created] = useMutation(CREATE_USER);
  const [update, updated] = useMutation(UPDATE_USER);
  const state = existing ? updated : created;
  const problems = fieldProblems(state.error);
  const set = (k: keyof typeof f, v: string | boolean) => setF((x) => ({ ...x, [k]: v }));
  const orNull = (v: string) => (v.trim() === '' ? null : v.trim());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input: ManualUserInput = {
      username: f.username.trim(),
      aliases: split(f.aliases),
      email: orNull(f.email),
      firstName: orNull(f.firstName),
      lastName: orNull(f.lastName),
      displayName: orNull(f.displayName),
      // Kept as entered; the API normalises to E.164 and says which one it cannot read.
      phones: split(f.phones).map((number) => ({ number, kind: 'manual' })),
      disabled: f.disabled,
    };
    const res = existing
      ? await update({ variables: { id: existing.id, input } }).catch(() => undefined)
      : await create({ variables: { input }, refetchQueries: ['Users', 'UserCount'] }).catch(
          () => undefined,
        );
    const id =
      res?.data && ('createUser' in res.data ? res.data.createUser.id : res.data.updateUser.id);
    if (id) navigate(`/users/${id}`);
  };

  const text = (k: keyof typeof f, label: string, hint?: string) => (
    <Field label={label} name={k} problems={problemsAt(problems, k)} hint={hint}>
      <input
        name={k}
        value={String(f[k])}
        autoComplete="off"
        onChange={(e) => set(k, e.target.value)}
      />
    </Field>
  );
  return (
    <section>
      <PageHeader title={existing ? `Edit ${existing.username}` : 'Add a user'}>
        <Link to={existing ? `/users/${existing.id}` : '/users'}>Cancel</Link>
      </PageHeader>
      <p className="hint">
        A manual user belongs to no directory. A later sync that brings the same username takes the
        user over (same id; then synced and read-only).
      </p>
      <form className="directory-form" onSubmit={(e) => void submit(e)} noValidate>
        {problems.length ? null : <ErrorBox error={state.error} />}
        <fieldset>
          <legend>User</legend>
          {text('username', 'Username')}
          {text('aliases', 'Aliases', 'Up to 8, comma-separated')}
          {text('email', 'E-mail')}
          {text('firstName', 'First name')}
          {text('lastName', 'Last name')}
          {text('displayName', 'Display name')}
          {text('phones', 'Phones', 'With the country code (+44 20 …), comma-separated')}
          <Field label="Disabled" name="disabled" problems={problemsAt(problems, 'disabled')}>
            <input
              type="checkbox"
              name="disabled"
              checked={f.disabled}
              onChange={(e) => set('disabled', e.target.checked)}
            />
          </Field>
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={state.loading}>
            {existing ? 'Save' : 'Create user'}
          </button>
        </div>
      </form>
    </section>
  );
}
