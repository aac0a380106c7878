/** The frame of every screen: skip link, header (who, organisation, language, sign out), menu, main. */
import { useEffect, useRef, type ReactNode } from 'react';
import type { Person } from '../auth/session';
import { LOCALES, useI18n, type Locale } from '../i18n';
import { mayUse } from '../lib/permissions';
import { Link, matchPath, useLocation } from '../router';
import { screens } from '../screens';

export function Shell({ person, onSignOut, children }: { person: Person; onSignOut: () => void; children: ReactNode }) {
  const { t, locale, setLocale } = useI18n();
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a navigation, focus the new screen's heading so a screen reader announces it.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path]);

  return (
    <>
      <a className="skip-link" href="#main">{t.skipToContent}</a>
      <header className="app-header">
        <div className="brand">{t.appName}</div>
        <nav aria-label={t.mainNav} className="main-nav">
          <ul>
            {screens.filter((s) => s.nav && mayUse(person, s.needs)).map((s) => {
              const current = s.path === '/' ? path === '/' || matchPath('/documents/:id', path) !== null : matchPath(s.path, path) !== null;
              return (
                <li key={s.path}>
                  <Link href={s.path} aria-current={current ? 'page' : undefined}>{s.nav!(t)}</Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="who">
          <span>
            <span className="label">{t.signedInAs}</span> <strong>{person.name ?? person.subject}</strong>
          </span>
          <span>
            <span className="label">{t.organisation}</span> <strong>{person.tenant}</strong>
          </span>
          <label className="language">
            <span className="label">{t.language}</span>
            <select value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
              {LOCALES.map((l) => (
                <option key={l} value={l} lang={l}>{t.languages[l]}</option>
              ))}
            </select>
          </label>
          <button type="button" className="secondary" onClick={onSignOut}>{t.signOut}</button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
