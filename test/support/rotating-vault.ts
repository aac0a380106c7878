/**
 * Key Vault's versions of the audit chain key for tests of what a rotation leaves an old version's holder: `rotate`
 * supersedes the newest, `leaked()` is the keyring of whoever kept the first version.
 */
import { type ChainKeyring, ChainKeyUnavailable, type ChainKeyVersion } from '../../shared/kernel/audit-chain';
import { world, type World } from './in-process';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export class RotatingVault implements ChainKeyring {
  readonly versions: ChainKeyVersion[] = [{ version: 'v1', key: Buffer.alloc(32, 1), rank: 1 }];
  async current(): Promise<ChainKeyVersion> {
    return this.versions.at(-1)!;
  }
  async version(v: string | null): Promise<ChainKeyVersion> {
    const found = v === null ? this.versions[0] : this.versions.find((x) => x.version === v);
    if (!found) throw new ChainKeyUnavailable(v, 'no such version');
    return found;
  }
  rotate(at: Date): void {
    this.versions.at(-1)!.supersededAt = at.getTime();
    const n = this.versions.length + 1;
    this.versions.push({ version: `v${n}`, key: Buffer.alloc(32, n), rank: n });
  }
  /** What a holder of the leaked first version seals with. */
  leaked(): ChainKeyring {
    const v1 = this.versions[0]!;
    return { current: async () => v1, version: async () => v1 };
  }
}

/** A world keying its audit log with a RotatingVault; `rotate` moves a day on, rotates, and moves an hour past any instance's pickup. */
export function rotatingWorld(env: Record<string, string> = {}): { w: World; vault: RotatingVault; rotate: () => void } {
  const w = world(env);
  const vault = new RotatingVault();
  w.deps.audit.chained = true;
  w.deps.audit.chainKeys = vault;
  const rotate = () => {
    w.clock.advance(DAY);
    vault.rotate(w.clock.now());
    w.clock.advance(HOUR);
  };
  return { w, vault, rotate };
}
