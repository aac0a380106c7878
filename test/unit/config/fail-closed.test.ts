/**
 * Settings an attacker (or a slip) could use to weaken the archive in Azure, and a spool folder
 * that is not there: refused at start-up with one clear message, never a 500 per request.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../../shared/config';
import { minimalAzureEnv, minimalLocalEnv } from '../../support/config-env';

const azure = minimalAzureEnv;

describe('in Azure, tokens come from a real issuer over HTTPS only', () => {
  it('accepts the Entra issuer', () => {
    expect(loadConfig(azure).runtime).toBe('azure');
  });

  it.each([
    ['the local issuer', { AUTH_ISSUER: 'http://127.0.0.1:7072', AUTH_JWKS_URI: 'http://127.0.0.1:7072/jwks' }, /AUTH_ISSUER.*\n.*AUTH_JWKS_URI/],
    ['keys over plain http', { AUTH_JWKS_URI: 'http://login.microsoftonline.com/0000-tenant/discovery/v2.0/keys' }, /AUTH_JWKS_URI/],
    ['a loopback issuer over https', { AUTH_ISSUER: 'https://localhost:7072' }, /AUTH_ISSUER/],
    ['keys from a loopback address over https', { AUTH_JWKS_URI: 'https://[::1]:7072/jwks' }, /AUTH_JWKS_URI/],
  ])('refuses %s', (_what, env, message) => {
    expect(() => loadConfig({ ...azure, ...env })).toThrow(message);
  });
});

describe('ARCHIVE_SPOOL_DIR must be a folder the archive can write to, or start-up fails', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'spool-cfg-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts an existing folder', () => {
    expect(loadConfig({ ...minimalLocalEnv, ARCHIVE_SPOOL_DIR: dir }).ARCHIVE_SPOOL_DIR).toBe(dir);
  });

  it('refuses a missing folder and a file, naming the setting', () => {
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_SPOOL_DIR: path.join(dir, 'nope') })).toThrow(/ARCHIVE_SPOOL_DIR: .*does not exist/);
    writeFileSync(path.join(dir, 'file'), '');
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_SPOOL_DIR: path.join(dir, 'file') })).toThrow(/ARCHIVE_SPOOL_DIR: .*not a folder/);
    expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_SPOOL_DIR: 'relative/spool' })).toThrow(/ARCHIVE_SPOOL_DIR: .*absolute/);
  });
});
