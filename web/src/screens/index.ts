/**
 * Every screen of the app, in one list: the router, the navigation and the tests read it.
 * To add a screen: write `screens/<name>.tsx` exporting a component that takes `{ params }`, add its
 * strings to i18n/en.ts and nl.ts, and add one entry here (with `nav` when it belongs in the menu).
 */
import type { ComponentType } from 'react';
import type { Dictionary } from '../i18n/en';
import { DocumentScreen } from './document';
import { ExportsScreen } from './exports';
import { SearchScreen } from './search';

export interface ScreenProps {
  params: Record<string, string>;
}

export interface Screen {
  /** `/documents/:id`: the `:name` parts arrive in `params`. */
  path: string;
  component: ComponentType<ScreenProps>;
  /** The menu label; screens without it are reached by links only. */
  nav?: (t: Dictionary) => string;
}

export const screens: Screen[] = [
  { path: '/', component: SearchScreen, nav: (t) => t.nav.documents },
  { path: '/documents/:id', component: DocumentScreen },
  { path: '/exports', component: ExportsScreen, nav: (t) => t.nav.exports },
];
