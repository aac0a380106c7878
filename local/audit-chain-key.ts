import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The local host's audit-chain HMAC key (in Azure it comes from Key Vault): 32 random bytes,
 * generated once and kept owner-only, so the chain stays verifiable across restarts.
 * Returned as hex, the form AUDIT_CHAIN_KEY takes (after a local rotation, several keys, comma-separated, oldest first).
 */
export function loadOrCreateAuditChainKey(file: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  try {
    // 'wx': never overwrite a key another start generated; a replaced key would break the chain.
    fs.writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // After a local rotation (README *Rotate the audit chain key*) the file lists the keys oldest first, comma-separated.
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}(?:\s*,\s*[0-9a-f]{64,})*$/i.test(hex)) throw new Error(`${file} does not hold a 32-byte hex key (or several, comma-separated, oldest first); restore it from a backup (a new key breaks the audit chain)`);
  return hex;
}
