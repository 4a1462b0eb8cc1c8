import { useRef, useState, type ReactNode } from 'react';
import { ApolloProvider, useQuery } from '@apollo/client/react';
import type { PageConfig } from './lib/config.js';
import { createApolloClient } from './lib/apollo.js';
import { clearCredential, loadCredential, saveCredential, type Credential } from './lib/session.js';
import { CALLBACK_PATH, endSessionUrl } from './lib/oidc.js';
import { Link, match, navigate, useLocation } from './lib/router.js';
import { ViewerContext, type Viewer } from './lib/viewer.js';
import { errorCode } from './lib/errors.js';
import { VIEWER } from './graphql/operations.js';
import { ErrorBox, Loading } from './ui/components.js';
import { SignInPage, OidcCallbackPage } from './pages/sign-in.js';
import { DirectoriesPage } from './pages/directories.js';
import { DirectoryPage } from './pages/directory.js';
import { DirectoryFormPage } from './pages/directory-form.js';
import { RunsPage } from './pages/runs.js';
import { RunPage } from './pages/run.js';
import { UsersPage } from './pages/users.js';
import { UserPage } from './pages/user.js';
import { UserFormPage } from './pages/user-form.js';
import { TrashPage } from './pages/trash.js';
import { GroupsPage, GroupPage } from './pages/groups.js';
import { AdminsPage } from './pages/admins.js';

/**
 * The console: sign-in until there is a credential, then the signed-in shell. One Apollo client
 * for the tab; signing out clears its cache so the next principal sees nothing of the last.
 */
export function App({ config }: { config: PageConfig }) {
  const [credential, setCredential] = useState<Credential | undefined>(() => loadCredential());
  const [notice, setNotice] = useState<string | undefined>();
  const credentialRef = useRef(credential);
  credentialRef.current = credential;

  // One client for the tab; its 401 handler reaches the current signOut through the ref.
  const signOutRef = useRef<(why?: string) => void>(() => undefined);
  const [client] = useState(() =>
    createApolloClient({
      token: () => credentialRef.current?.token,
      onUnauthenticated: (message) => {
        if (credentialRef.current) signOutRef.current(`Signed out: ${message}.`);
      },
    }),
  );

  const signOut = (why?: string) => {
    const was = credentialRef.current;
    clearCredential();
    credentialRef.current = undefined;
    setCredential(undefined);
    setNotice(why);
    void client.clearStore();
    if (!why && was?.kind === 'OIDC' && config.oidc) {
      const url = endSessionUrl(config.oidc, was.idToken);
      if (url) location.assign(url);
    }
  };
  signOutRef.current = signOut;

  const signedIn = (c: Credential, returnTo?: string) => {
    saveCredential(c);
    credentialRef.current = c;
    setNotice(undefined);
    setCredential(c);
    if (returnTo) navigate(returnTo, { replace: true });
  };

  const { path } = useLocation();
  if (path === CALLBACK_PATH) {
    return <OidcCallbackPage config={config} onSignedIn={signedIn} />;
  }
  if (!credential) {
    return <SignInPage config={config} notice={notice} onSignedIn={signedIn} />;
  }
  return (
    <ApolloProvider client={client}>
      <SignedIn credential={credential} onSignOut={() => signOut()} />
    </ApolloProvider>
  );
}

function SignedIn({ credential, onSignOut }: { credential: Credential; onSignOut: () => void }) {
  const { data, error } = useQuery(VIEWER, { fetchPolicy: 'network-only' });
  if (error && errorCode(error) !== 'UNAUTHENTICATED') {
    return (
      <main className="centered">
        <ErrorBox error={error} title="The gateway did not answer who you are" />
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </main>
    );
  }
  if (!data) return <Loading />;
  return (
    <ViewerContext.Provider value={data.viewer}>
      <Shell viewer={data.viewer} credential={credential} onSignOut={onSignOut} />
    </ViewerContext.Provider>
  );
}

const NAV: [string, string][] = [
  ['/directories', 'Directories'],
  ['/runs', 'Runs'],
  ['/users', 'Users'],
  ['/trash', 'Trash'],
  ['/groups', 'Groups'],
  ['/admins', 'Admins'],
];

function Shell({
  viewer,
  credential,
  onSignOut,
}: {
  viewer: Viewer;
  credential: Credential;
  onSignOut: () => void;
}) {
  const { path } = useLocation();
  return (
    <div className="shell">
      <aside className="sidebar">
        <Link to="/directories" className="brand">
          dirsync
        </Link>
        <nav>
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} className={path.startsWith(to) ? 'active' : undefined}>
              {label}
            </Link>
          ))}
        </nav>
        <div className="who" data-testid="viewer">
          <span className="name">{viewer.name}</span>
          <span className="role">
            {viewer.role.replace(/_/g, ' ').toLowerCase()} ·{' '}
            {credential.kind === 'OIDC' ? 'OIDC' : 'API key'}
          </span>
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </aside>
      <main className="content">{route(path)}</main>
    </div>
  );
}

function route(path: string): ReactNode {
  let p: Record<string, string> | undefined;
  if (path === '/' || path === '') {
    navigate('/directories', { replace: true });
    return null;
  }
  if (match('/directories', path)) return <DirectoriesPage />;
  if (match('/directories/new', path)) return <DirectoryFormPage />;
  if ((p = match('/directories/:id/edit', path)))
    return <DirectoryFormPage id={p.id!} key={p.id} />;
  if ((p = match('/directories/:id', path))) return <DirectoryPage id={p.id!} key={p.id} />;
  if (match('/runs', path)) return <RunsPage />;
  if ((p = match('/runs/:id', path))) return <RunPage id={p.id!} key={p.id} />;
  if (match('/users', path)) return <UsersPage />;
  if (match('/users/new', path)) return <UserFormPage />;
  if ((p = match('/users/:id/edit', path))) return <UserFormPage id={p.id!} key={p.id} />;
  if ((p = match('/users/:id', path))) return <UserPage id={p.id!} key={p.id} />;
  if (match('/trash', path)) return <TrashPage />;
  if (match('/groups', path)) return <GroupsPage />;
  if ((p = match('/groups/:id', path))) return <GroupPage id={p.id!} key={p.id} />;
  if (match('/admins', path)) return <AdminsPage />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link to="/directories">Directories</Link>
      </p>
    </section>
  );
}
