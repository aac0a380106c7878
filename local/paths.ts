import * as path from 'node:path';

/** Everything `npm start` keeps lives under .local/ at the repository root. */
export const LOCAL_DIR = path.resolve(__dirname, '..', '..', '.local');
export const SIGNING_KEY_FILE = path.join(LOCAL_DIR, 'oidc-signing-key.json');
export const LOCAL_PORTS = { archive: 7071, oidc: 7072, azurite: 10000, azuriteQueue: 10001, cosmos: 8081 } as const;
export const LOCAL_ISSUER = `http://127.0.0.1:${LOCAL_PORTS.oidc}`;
