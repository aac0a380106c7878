import * as path from 'node:path';
import { blobOriginOf } from '../../../shared/config';
import { relativePath, webAppCsp, webAppDir } from '../../../shared/http/web-app';

describe('the web app core (shared/http/web-app.ts)', () => {
  it.each([
    ['/', ''],
    ['/assets/index-Abc.js', 'assets/index-Abc.js'],
    ['/documents//x', 'documents/x'],
    ['/%64ocs', 'docs'],
  ])('maps %s inside the app folder', (p, rel) => expect(relativePath(p)).toBe(rel));

  it.each(['/../package.json', '/assets/%2e%2e/%2e%2e/x', '/a%5c..%5cb', '/%00', '/.env', '/%E0%A4%A'])('refuses %s', (p) => expect(relativePath(p)).toBeNull());

  it('finds web/dist beside the nearest package.json, unless ARCHIVE_WEB_DIR names another folder', () => {
    expect(webAppDir({ ARCHIVE_WEB_DIR: undefined }, path.join(__dirname))).toBe(path.resolve(__dirname, '..', '..', '..', 'web', 'dist'));
    expect(webAppDir({ ARCHIVE_WEB_DIR: '/srv/app' })).toBe('/srv/app');
  });

  it('lets the page talk to and post to its own origin and the issuer only', () => {
    expect(webAppCsp('https://login.microsoftonline.com')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self' https://login.microsoftonline.com; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self' https://login.microsoftonline.com; object-src 'none'",
    );
  });

  it('lets fetch follow a download link to the blob service of the settings, and nowhere else', () => {
    expect(webAppCsp('https://login.microsoftonline.com', 'https://archive.blob.core.windows.net')).toContain("connect-src 'self' https://login.microsoftonline.com https://archive.blob.core.windows.net;");
    expect(webAppCsp(null, 'https://archive.blob.core.windows.net')).toContain("form-action 'self';");
    expect(blobOriginOf({ STORAGE_CONNECTION_STRING: undefined, STORAGE_ACCOUNT_URL: 'https://archive.blob.core.windows.net/' })).toBe('https://archive.blob.core.windows.net');
    expect(blobOriginOf({ STORAGE_CONNECTION_STRING: 'AccountName=devstoreaccount1;AccountKey=k;BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;', STORAGE_ACCOUNT_URL: undefined })).toBe('http://127.0.0.1:41000');
    expect(blobOriginOf({ STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', STORAGE_ACCOUNT_URL: undefined })).toBe('http://127.0.0.1:10000');
    expect(blobOriginOf({ STORAGE_CONNECTION_STRING: undefined, STORAGE_ACCOUNT_URL: undefined })).toBeNull();
  });
});
