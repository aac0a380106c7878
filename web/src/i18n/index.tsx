/** The reader's language (nl or en): chosen in the header, first guessed from navigator.language. */
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type Dictionary } from './en';
import { nl } from './nl';

export type Locale = 'nl' | 'en';
export const LOCALES: readonly Locale[] = ['nl', 'en'];
const DICTIONARIES: Record<Locale, Dictionary> = { nl, en };

export function guessLocale(languages: readonly string[] = navigator.languages ?? [navigator.language]): Locale {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0];
    if (base === 'nl' || base === 'en') return base;
  }
  return 'en';
}

interface I18n {
  locale: Locale;
  t: Dictionary;
  setLocale: (locale: Locale) => void;
  money: (amount: number, currency: string) => string;
  /** A calendar day (YYYY-MM-DD) or an instant, as a day. */
  date: (iso: string) => string;
  dateTime: (iso: string) => string;
  number: (n: number) => string;
  bytes: (n: number) => string;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocale] = useState<Locale>(() => guessLocale());
  useEffect(() => {
    document.documentElement.lang = locale;
    document.title = DICTIONARIES[locale].appName;
  }, [locale]);
  const value = useMemo<I18n>(() => formatters(locale, setLocale), [locale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function formatters(locale: Locale, setLocale: (l: Locale) => void = () => undefined): I18n {
  const tag = locale === 'nl' ? 'nl-NL' : 'en-GB';
  const dateFormat = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeZone: 'UTC' });
  const dateTimeFormat = new Intl.DateTimeFormat(tag, { dateStyle: 'medium', timeStyle: 'short' });
  const numberFormat = new Intl.NumberFormat(tag);
  return {
    locale,
    t: DICTIONARIES[locale],
    setLocale,
    money: (amount, currency) => new Intl.NumberFormat(tag, { style: 'currency', currency }).format(amount),
    // A document date is a calendar day (YYYY-MM-DD): shown as that day, whatever the reader's time zone.
    date: (iso) => dateFormat.format(new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso)),
    dateTime: (iso) => dateTimeFormat.format(new Date(iso)),
    number: (n) => numberFormat.format(n),
    bytes: (n) => {
      const units = ['B', 'KB', 'MB', 'GB'];
      let i = 0;
      let v = n;
      while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
      return `${new Intl.NumberFormat(tag, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(v)} ${units[i]}`;
    },
  };
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}
