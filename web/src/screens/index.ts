/**
 * Every screen of the app, in one list: the router, the navigation and the tests read it.
 * To add a screen: write `screens/<name>.tsx` exporting a component that takes `{ params }`, add its
 * strings to i18n/en.ts and nl.ts, and add one entry here (with `nav` when it belongs in the menu).
 */
import { lazy, type ComponentType } from 'react';
import type { Dictionary } from '../i18n/en';
import type { Permission } from '../lib/permissions';
import { DocumentScreen } from './document';
import { ExportsScreen } from './exports';
import { SearchScreen } from './search';

// The auditor's and tenant admin's screens load on demand: an accountant's first load stays small.
const AuditScreen = lazy(() => import('./audit').then((m) => ({ default: m.AuditScreen })));
const ApiKeysScreen = lazy(() => import('./api-keys').then((m) => ({ default: m.ApiKeysScreen })));
const RightsScreen = lazy(() => import('./rights').then((m) => ({ default: m.RightsScreen })));
const SupportScreen = lazy(() => import('./support').then((m) => ({ default: m.SupportScreen })));
const RetentionScreen = lazy(() => import('./retention').then((m) => ({ default: m.RetentionScreen })));
const HoldsScreen = lazy(() => import('./holds').then((m) => ({ default: m.HoldsScreen })));
// Uploaders' screen carries the metadata schema (zod): loaded when opened.
const UploadScreen = lazy(() => import('./upload').then((m) => ({ default: m.UploadScreen })));
const DisposalScreen = lazy(() => import('./disposal').then((m) => ({ default: m.DisposalScreen })));

export interface ScreenProps {
  params: Record<string, string>;
}

export interface Screen {
  /** `/documents/:id`: the `:name` parts arrive in `params`. */
  path: string;
  component: ComponentType<ScreenProps>;
  /** The menu label; screens without it are reached by links only. */
  nav?: (t: Dictionary) => string;
  /** The menu shows the screen when the person holds any of these (the API still decides). */
  needs?: readonly Permission[];
}

export const screens: Screen[] = [
  { path: '/', component: SearchScreen, nav: (t) => t.nav.documents, needs: ['documents:read'] },
  { path: '/documents/:id', component: DocumentScreen },
  { path: '/upload', component: UploadScreen, nav: (t) => t.nav.upload, needs: ['documents:write'] },
  { path: '/exports', component: ExportsScreen, nav: (t) => t.nav.exports, needs: ['exports:create'] },
  { path: '/audit', component: AuditScreen, nav: (t) => t.nav.audit, needs: ['audit:read'] },
  { path: '/legal-holds', component: HoldsScreen, nav: (t) => t.nav.holds, needs: ['holds:place', 'holds:release'] },
  { path: '/disposal', component: DisposalScreen, nav: (t) => t.nav.disposal, needs: ['retention:approve'] },
  { path: '/retention', component: RetentionScreen, nav: (t) => t.nav.retention, needs: ['retention:manage'] },
  { path: '/api-keys', component: ApiKeysScreen, nav: (t) => t.nav.apiKeys, needs: ['keys:manage'] },
  { path: '/rights', component: RightsScreen, nav: (t) => t.nav.rights, needs: ['rights:manage'] },
  { path: '/support-access', component: SupportScreen, nav: (t) => t.nav.support, needs: ['support:grant'] },
];
