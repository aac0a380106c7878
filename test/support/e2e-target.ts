/** Where the e2e project's archive host and issuer run (written by test/support/e2e-setup.ts). */
import * as fs from 'node:fs';
import { mintToken, type TokenClaims } from '../../local/oidc';
import { readEmulators } from './emulators-file';

export interface E2eTarget {
  /** The web app, e.g. http://127.0.0.1:41234/ */
  appUrl: string;
  /** The API under it, e.g. http://127.0.0.1:41234/api */
  apiUrl: string;
  /** The local issuer the app signs in with. */
  issuer: string;
}

export function e2eTarget(): E2eTarget & { token(claims: TokenClaims): Promise<string> } {
  const file = process.env.ARCHIVE_E2E_TARGET;
  if (!file) throw new Error('ARCHIVE_E2E_TARGET is not set: e2e tests run under the e2e project (jest --selectProjects e2e)');
  const target = JSON.parse(fs.readFileSync(file, 'utf8')) as E2eTarget;
  const emulators = readEmulators();
  // A token for seeding through the API (uploads, rights), signed like the issuer's own.
  return { ...target, token: (claims) => mintToken(emulators.signingKey, emulators.issuer, claims) };
}
