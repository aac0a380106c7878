/**
 * The archive's seal on what it keeps in blob storage beside the catalog (kept settings, corrections, manifests, audit
 * seals): an HMAC-SHA256 under the audit chain key (Key Vault), which whoever can write blobs does not hold, naming the
 * key version it was made with (the key is rotatable: audit-chain.ts ChainKeyring). Anyone able to create a blob in a
 * tenant's container (a storage role, no rights in the tenant) can put any JSON under a name the archive reads; only a
 * sealed one is taken as the archive's.
 *
 * `purpose` keeps one kind of blob from passing for another: the MAC covers `archive-<purpose>\n` and the content as
 * canonical JSON (as JSON keeps it: an absent field is no field), its `keyVersion` included.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson, type ChainKeyring, ChainKeyUnavailable, type ChainKeyVersion, supersededBefore } from './audit-chain';

export interface Sealed {
  /** The chain key version `mac` was made with (covered by it); absent: the first version. */
  keyVersion?: string;
  mac: string;
}

/** Why content is not sealed by the archive (unsealedBecause): one of these, said in the log line that reports it. */
export type UnsealedReason = 'key unavailable' | 'mac does not match' | 'superseded key';

function archiveMac(purpose: string, content: object, key: Buffer): string {
  return createHmac('sha256', key).update(`archive-${purpose}\n${canonicalJson(JSON.parse(JSON.stringify(content)))}`).digest('hex');
}

/** `content` with the archive's seal, under the current key version. */
export async function sealWith<T extends object>(purpose: string, content: T, keys: ChainKeyring): Promise<T & Sealed> {
  const current = await keys.current();
  const named = { ...content, ...(current.version !== null ? { keyVersion: current.version } : {}) };
  return { ...named, mac: archiveMac(purpose, named, current.key) };
}

/**
 * The archive's seal over `content`, for a Cosmos DB record that carries it in a field of its own (`seal`: an audit
 * outbox item, a parked batch, a disposal claim, an export job), checked by sealFieldUnsealedBecause.
 */
export async function sealOver(purpose: string, content: object, keys: ChainKeyring): Promise<Sealed> {
  const { keyVersion, mac } = await sealWith(purpose, content, keys);
  return { ...(keyVersion !== undefined ? { keyVersion } : {}), mac };
}

/**
 * Why `content` with the `seal` field stored beside it (sealOver) is not the archive's (null: it is). Only the seal's
 * `keyVersion` and `mac` are read from it: anything else there could stand in for the content's own fields.
 */
export async function sealFieldUnsealedBecause(purpose: string, content: object, seal: unknown, storedAt: string | null, keys: ChainKeyring): Promise<UnsealedReason | 'no seal' | null> {
  if (!seal || typeof seal !== 'object' || typeof (seal as { mac?: unknown }).mac !== 'string') return 'no seal';
  const { keyVersion, mac } = seal as { keyVersion?: unknown; mac: string };
  return unsealedBecause(purpose, { ...content, ...(typeof keyVersion === 'string' ? { keyVersion } : {}), mac }, storedAt, keys);
}

/**
 * Why `sealed` is not the archive's (null: it is): its MAC checked with the key version it names (none: the first), a
 * version that cannot be read is "key unavailable", and one already superseded when storage created the blob (its
 * creation time, which the storage service sets; CHAIN_KEY_PICKUP_MS allowed; not told, taken as after) is "superseded
 * key": the old key, leaked, sealing something after the rotation.
 */
export async function unsealedBecause(purpose: string, sealed: object, createdOn: string | null, keys: ChainKeyring): Promise<UnsealedReason | null> {
  const { mac, ...content } = sealed as Partial<Sealed> & Record<string, unknown>;
  const named = content.keyVersion;
  let version: ChainKeyVersion;
  try {
    version = await keys.version(typeof named === 'string' ? named : null);
  } catch (err) {
    if (err instanceof ChainKeyUnavailable) return 'key unavailable';
    throw err;
  }
  if (version.key.length === 0 || typeof mac !== 'string' || !sealable(content)) return 'mac does not match';
  const expected = Buffer.from(archiveMac(purpose, content, version.key), 'hex');
  const given = Buffer.from(mac, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'mac does not match';
  if (supersededBefore(version, createdOn)) return 'superseded key';
  return null;
}

/**
 * Whether `sealed` names a key version older than the current one: a time its own content gives (a record's minting, an
 * approval's) says nothing of when it was sealed, so its seal stands only on a witness the old key cannot make after the
 * rotation (a keyed audit entry). Both versions are cached by the keyring: no round trip.
 */
export async function sealedWithSuperseded(sealed: Partial<Sealed>, keys: ChainKeyring): Promise<boolean> {
  const [version, current] = await Promise.all([keys.version(typeof sealed.keyVersion === 'string' ? sealed.keyVersion : null), keys.current()]);
  return version.rank < current.rank;
}

/** Deeper than anything the archive seals (a manifest or a kept setting is a few levels). */
const SEALED_DEPTH_MAX = 32;

/**
 * Whether content as parsed is what the MAC's canonical JSON says it is. A number JSON cannot hold (`1e400` parses as
 * Infinity) is written `null` there: a genuine sealed blob with a null in it, re-spelled with `1e400` by whoever can
 * write storage, still checked and was read as a number. Nesting past SEALED_DEPTH_MAX (a planted blob of `[[[…`)
 * overflowed the stack of the recursive canonicalJson and JSON.stringify: a RangeError for the run that read it, every
 * run. Walked without recursion.
 */
function sealable(value: unknown): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [v, depth] = next;
    if (typeof v === 'number' && !Number.isFinite(v)) return false;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= SEALED_DEPTH_MAX) return false;
    for (const child of Object.values(v)) pending.push([child, depth + 1]);
  }
  return true;
}

/**
 * Why what storage keeps is not the archive's (null: it is): sealed by it (unsealedBecause), or written before the
 * archive sealed what it keeps (no `mac`) and vouched for by `witness` (its request's entry in the keyed audit log);
 * `unwitnessed` is the reason when neither holds. One with a `mac` that does not check is never taken on a witness.
 */
export async function notKeptByArchive(purpose: string, sealed: object, createdOn: string | null, keys: ChainKeyring, witness: () => Promise<boolean>, unwitnessed: string): Promise<string | null> {
  if ((sealed as Partial<Sealed>).mac !== undefined) return unsealedBecause(purpose, sealed, createdOn, keys);
  return (await witness()) ? null : unwitnessed;
}
