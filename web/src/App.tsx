/** Signs the reader in, then shows the screen the address names. */
import { Suspense, useEffect, useState } from 'react';
import { activeAuthenticator, currentSession, setSession, type Session } from './auth/session';
import { Shell } from './components/Shell';
import { useI18n } from './i18n';
import { matchPath, useLocation } from './router';
import { screens } from './screens';

export function App({ initial }: { initial: Session | null }) {
  const { t } = useI18n();
  const [session, setCurrent] = useState<Session | null>(initial ?? currentSession());
  const [failed, setFailed] = useState(false);
  const { path } = useLocation();

  useEffect(() => {
    if (session) return;
    activeAuthenticator().signIn(window.location.pathname + window.location.search).catch(() => setFailed(true));
  }, [session]);

  if (!session) {
    return (
      <main id="main" className="centered">
        <p role="status" aria-live="polite">{failed ? t.signInFailed : t.signingIn}</p>
        {failed && <button type="button" onClick={() => { setFailed(false); setCurrent(null); window.location.reload(); }}>{t.tryAgain}</button>}
      </main>
    );
  }

  const signOut = () => {
    setSession(null);
    setCurrent(null);
    void activeAuthenticator().signOut();
  };

  let content = <NotFound />;
  for (const screen of screens) {
    const params = matchPath(screen.path, path);
    if (params) {
      const Component = screen.component;
      // Lazy screens (auditor, tenant admin) arrive as their own chunk.
      content = (
        <Suspense key={path} fallback={<p role="status">{t.loading}</p>}>
          <Component params={params} />
        </Suspense>
      );
      break;
    }
  }
  return <Shell person={session.person} onSignOut={signOut}>{content}</Shell>;
}

function NotFound() {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t.notFound}</h1>
    </>
  );
}
