import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { setApiBase } from './api';
import { App } from './App';
import { authenticatorFor, setSession } from './auth/session';
import { loadWebConfig } from './config';
import { I18nProvider } from './i18n';
import { queryRetryDelay, retriesQuery } from './lib/retry-after';
import './styles.css';

const queries = new QueryClient({
  defaultOptions: {
    // A refusal (4xx) will not change by asking again; a 5xx may, but no sooner than its Retry-After.
    queries: { retry: (count, error) => retriesQuery(count, error, Date.now()), retryDelay: (count, error) => queryRetryDelay(count, error, Date.now()), refetchOnWindowFocus: false },
  },
});

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  try {
    const config = await loadWebConfig();
    setApiBase(config.apiBase);
    const authenticator = await authenticatorFor(config.auth);
    const session = await authenticator.completeRedirect();
    setSession(session);
    root.render(
      <StrictMode>
        <QueryClientProvider client={queries}>
          <I18nProvider>
            <App initial={session} />
          </I18nProvider>
        </QueryClientProvider>
      </StrictMode>,
    );
  } catch (err) {
    root.render(
      <main id="main" className="centered">
        <h1>Archief / Archive</h1>
        <p role="alert">Aanmelden is niet gelukt. / Signing in did not work.</p>
        <p className="muted">{err instanceof Error ? err.message : String(err)}</p>
        <p><a href="/">Opnieuw proberen / Try again</a></p>
      </main>,
    );
  }
}

void start();
