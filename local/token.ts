/**
 * `npm run token -- --tenant acme --sub alice@acme.example --rights archivist [--kind support] [--minutes 60]`.
 * Without --rights the token carries no rights claim: it may do only what a rights set the tenant assigned allows.
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { loadOrCreateSigningKey, mintToken } from './oidc';
import { LOCAL_DIR, LOCAL_ISSUER, SIGNING_KEY_FILE } from './paths';

async function main() {
  const { values } = parseArgs({
    options: { tenant: { type: 'string' }, sub: { type: 'string' }, rights: { type: 'string' }, kind: { type: 'string' }, minutes: { type: 'string', default: '60' } },
  });
  if (!values.tenant || !values.sub) {
    console.error('usage: npm run token -- --tenant <tenant> --sub <subject> --rights uploader|accountant|archivist|auditor|tenant-admin|integration-admin [--kind user|support] [--minutes 60]\n(without --rights the token may do only what a rights set the tenant assigned allows)');
    process.exit(2);
  }
  fs.mkdirSync(LOCAL_DIR, { recursive: true });
  const key = await loadOrCreateSigningKey(SIGNING_KEY_FILE);
  const token = await mintToken(key, LOCAL_ISSUER, {
    tenant: values.tenant,
    sub: values.sub,
    ...(values.rights ? { rights: values.rights } : {}),
    ...(values.kind === 'support' || values.kind === 'user' ? { kind: values.kind } : {}),
    expiresIn: Number(values.minutes) * 60,
  });
  process.stdout.write(`${token}\n`);
}

void main();
