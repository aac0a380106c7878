import * as path from 'node:path';

/** Everything `npm start` keeps lives under .local/ at the repository root (ARCHIVE_LOCAL_DIR moves it, e.g. for tests). */
export const LOCAL_DIR = process.env.ARCHIVE_LOCAL_DIR ? path.resolve(process.env.ARCHIVE_LOCAL_DIR) : path.resolve(__dirname, '..', '..', '.local');
export const SIGNING_KEY_FILE = path.join(LOCAL_DIR, 'oidc-signing-key.json');
export const AUDIT_CHAIN_KEY_FILE = path.join(LOCAL_DIR, 'audit-chain-key');
/** Where the Cosmos protocol server's snapshot and journal live (local/cosmos-journal.ts). */
export const COSMOS_DATA_DIR = path.join(LOCAL_DIR, 'cosmos');

/** LOCAL_<SERVICE>_PORT overrides a port (0: any free port), so a second host can run beside the first. */
function port(name: string, fallback: number): number {
  const raw = process.env[`LOCAL_${name}_PORT`];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`LOCAL_${name}_PORT=${raw} is not a port`);
  return n;
}

export const LOCAL_PORTS = { archive: port('ARCHIVE', 7071), oidc: port('OIDC', 7072), azurite: port('AZURITE', 10000), azuriteQueue: port('AZURITE_QUEUE', 10001), cosmos: port('COSMOS', 8081) } as const;
export const LOCAL_ISSUER = `http://127.0.0.1:${LOCAL_PORTS.oidc}`;

/**
 * The `npm run token` line the banner prints. The token signs for LOCAL_ISSUER, read from LOCAL_OIDC_PORT: with the
 * issuer moved, the plain command minted tokens for :7072 that the archive refused (401), so the line names the port.
 */
export function tokenCommand(issuer: string, args: string): string {
  const port = new URL(issuer).port;
  return `${port === '7072' ? '' : `LOCAL_OIDC_PORT=${port} `}npm run token -- ${args}`;
}
