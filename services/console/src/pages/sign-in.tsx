import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { PageConfig } from '../lib/config.js';
import { API_KEY_RE, type Credential } from '../lib/session.js';
import { beginSignIn, completeSignIn } from '../lib/oidc.js';
import { useLocation } from '../lib/router.js';

/** Ask the gateway who a credential is before keeping it: a wrong key fails here, not later. */
async function checkCredential(token: string): Promise<string | undefined> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { id role } }' }),
  });
  const body = (await res.json().catch(() => ({}))) as {
    data?: { viewer?: { id: string } };
    errors?: { message: string; extensions?: { code?: string } }[];
  };
  if (res.ok && body.data?.viewer) return undefined;
  const e = body.errors?.[0];
  return e ? `${e.extensions?.code ?? `HTTP ${res.status}`}: ${e.message}` : `HTTP ${res.status}`;
}

export function SignInPage({
  config,
  notice,
  onSignedIn,
}: {
  config: PageConfig;
  notice: string | undefined;
  onSignedIn: (c: Credential) => void;
}) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const { path, query } = useLocation();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const token = key.trim();
    if (!API_KEY_RE.test(token)) {
      setProblem('An API key looks like dsk_<prefix>_<secret>.');
      return;
    }
    setBusy(true);
    setProblem(undefined);
    try {
      const failed = await checkCredential(token);
      if (failed) setProblem(failed);
      else onSignedIn({ kind: 'API_KEY', token });
    } catch (err) {
      setProblem(`The gateway did not answer: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const oidc = config.oidc;
  const returnTo = `${path}${query.toString() ? `?${query}` : ''}`;
  return (
    <main className="sign-in">
      <div className="card">
        <h1>dirsync</h1>
        <p className="muted">Sign in to the directory sync console.</p>
        {notice ? <p className="notice">{notice}</p> : null}
        {oidc ? (
          <>
            <button
              type="button"
              className="primary wide"
              onClick={() => void beginSignIn(oidc, returnTo === '/' ? '/directories' : returnTo)}
            >
              Sign in with {new URL(oidc.issuer).host}
            </button>
            <p className="or">or with an API key</p>
          </>
        ) : null}
        {config.oidcProblem ? <p className="notice">{config.oidcProblem}</p> : null}
        <form onSubmit={(e) => void submit(e)}>
          <label>
            <span className="label">API key</span>
            <input
              name="apiKey"
              type="password"
              autoComplete="off"
              placeholder="dsk_…"
              value={key}
              onChange={(e) => setKey(e.target.value)}
            />
          </label>
          {problem ? (
            <p className="field-error" role="alert">
              {problem}
            </p>
          ) : null}
          <button type="submit" className={oidc ? 'wide' : 'primary wide'} disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
        <p className="hint">
          The key is kept in this tab only (session storage) and sent to this gateway alone. The
          demo writes its owner key to <code>.data/owner.key</code>.
        </p>
      </div>
    </main>
  );
}

/** `/oidc/callback`: exchange the code, keep the token, go where the sign-in started. */
export function OidcCallbackPage({
  config,
  onSignedIn,
}: {
  config: PageConfig;
  onSignedIn: (c: Credential, returnTo: string) => void;
}) {
  const [problem, setProblem] = useState<string | undefined>();
  const started = useRef(false);
  useEffect(() => {
    // Once: the code can be exchanged only once (StrictMode runs effects twice in development).
    if (started.current) return;
    started.current = true;
    if (!config.oidc) {
      setProblem('OIDC sign-in is not configured on this gateway.');
      return;
    }
    completeSignIn(config.oidc, location.search)
      .then(async ({ credential, returnTo }) => {
        const failed = await checkCredential(credential.token);
        if (failed) setProblem(`The gateway refused the token: ${failed}`);
        else onSignedIn(credential, returnTo);
      })
      .catch((err: unknown) => setProblem((err as Error).message));
  }, [config, onSignedIn]);
  return (
    <main className="sign-in">
      <div className="card">
        <h1>dirsync</h1>
        {problem ? (
          <>
            <p className="field-error" role="alert">
              {problem}
            </p>
            <a href="/">Back to sign-in</a>
          </>
        ) : (
          <p className="muted">Signing in…</p>
        )}
      </div>
    </main>
  );
}
