import { randomBytes } from 'node:crypto';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import { CHANGED } from '../../kernel/concurrency';
import { ArchiveError } from '../../kernel/errors';
import type { Permission, Principal } from '../../kernel/principal';
import type { TenantRecordsPort, TenantRecordWrite, VersionedRecord } from '../../ports';
import { gateMoved, underRightsGate } from '../rights-gate';
import type { TenantRights } from '../rights';
import { findRightsAssignment } from '../rights-sets/find-rights-assignment';
import { isBuiltIn, permissionsOf, type RightsSetRecord, rightsSetRecordId } from '../rights-sets/rights-records';
import { rightsSetPermissions } from '../rights-sets/rights-set-permissions';
import { assertNoConflict, assertWithinCeiling } from '../sod';
import { assertWithinTenantLimit } from '../tenant-limits';
import { ApiKeyDeps, ApiKeyRecord, apiKeyRecordId, hashSecret, SCRYPT } from './api-key';
import { endedKeyAbove, expiryWithinMakingKey, keyReader } from './verify-api-key';
import { type KeySealDeps, sealedDigest, sealRecord } from './key-seal';

/**
 * Judges the rights set a key is to hold, as stored now (past the settings cache): it exists, its permissions
 * conflict with nothing and are all the creator's. Answers the tenant's own set as read, for the key's write to
 * rely on (null for a built-in template, never deleted nor changed). createApiKey calls it after reading the tenant's
 * rights gate.
 */
export async function judgeKeyRightsSet(principal: Principal, rightsSet: string, deps: { tenantRecords: TenantRecordsPort; rights: Pick<TenantRights, 'policy'> }): Promise<VersionedRecord<RightsSetRecord> | null> {
  const stored = isBuiltIn(rightsSet) ? null : await deps.tenantRecords.get<RightsSetRecord>(principal.tenantId, rightsSetRecordId(rightsSet), 'rights-set', { fresh: true });
  const permissions = stored ? permissionsOf(stored.value) : isBuiltIn(rightsSet) ? await rightsSetPermissions(principal.tenantId, rightsSet, deps) : null;
  if (!permissions) throw new ArchiveError('rights_set_not_found', { detail: `The tenant has no rights set ${rightsSet}.` });
  assertNoConflict(permissions, await deps.rights.policy(principal.tenantId, { fresh: true }), { rightsSet });
  assertWithinCeiling(principal, permissions, { rightsSet });
  return stored;
}

/**
 * A new key; the secret is in `key`, returned this once (only its hash is stored). With `judgeRightsSet`
 * (judgeKeyRightsSet) the key is written with the tenant's set as judged, rewritten over the version read: a
 * deletion of the set that found no key holding it fails its conditional delete, and a set deleted or changed after
 * it was judged here is judged again. Both used to succeed: a key holding a deleted set (which a later set of that
 * name would fill), or judged on permissions since changed. The key moves the tenant's rights gate, read before it is
 * judged: a SoD policy changed meanwhile is judged against this key, or the key against that policy. The tenant's keys
 * in use are counted after the gate is read (a count query, never cached): of two keys minted at once into the last room, the
 * second finds the gate moved, counts again and is refused (tenant_limit_reached), nothing stored.
 */
export async function createApiKey(
  input: { tenantId: string; name: string; rightsSet: string; expiresAt: Date; createdBy: { subject: string; kind: string; person: string }; ceiling: Permission[]; personPermissions: Permission[]; /** The creator's rights were judged on their assignment (Principal.personAssigned). */ personAssigned?: boolean; now: Date; /** The request's audit entry, stored with the key. */ audit?: AuditStaging; judgeRightsSet?: () => Promise<VersionedRecord<RightsSetRecord> | null> },
  deps: ApiKeyDeps & KeySealDeps & { config: { ARCHIVE_MAX_API_KEYS: number } },
): Promise<{ key: string; record: ApiKeyRecord }> {
  // A key minted through a key stands on it and the keys above it (minterRefusal): one that would stand on more than a
  // key may could never act, and was minted all the same (201, and a secret refused on every request).
  const read = keyReader(input.tenantId, deps);
  if (await endedKeyAbove(input.createdBy, input.now, read)) {
    throw new ArchiveError('forbidden', { detail: 'A key minted through this API key could never act: it would stand on more keys than a key may (8), or one of them no longer acts. Mint it through a key nearer its person, or signed in.' });
  }
  const expiresAt = await expiryWithinMakingKey(input.createdBy, input.expiresAt, read);
  const pepperName = deps.config.API_KEY_PEPPER_SECRET_NAME;
  const keyId = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const { hash: value, pepperVersion } = await hashSecret(deps, secret, salt, SCRYPT, { name: pepperName });
  const prefix = `arch_${input.tenantId}_${keyId}`;
  return underRightsGate('The rights set', input.tenantId, deps, async (gate) => {
    // Counted by the store: reading every key to count them read all the revoked and expired ones a tenant had piled up.
    const inUse = await deps.tenantRecords.countApiKeysInUse(input.tenantId, input.now.toISOString());
    assertWithinTenantLimit('api-keys', inUse, deps.config.ARCHIVE_MAX_API_KEYS);
    const relied = input.judgeRightsSet ? await input.judgeRightsSet() : null;
    // Whether the tenant decides the person's rights: then the key follows what it decides later (authenticate.ts). As
    // the creator was judged (their assignment), or as stored now: read only now, an assignment removed while the key
    // was minted (the gate moved, this judged again) left a key that fell back on its ceiling, the rights just taken.
    const personAssigned = input.personAssigned === true || (await findRightsAssignment(input.tenantId, input.createdBy.person, deps)) !== null;
    // Sealed by the archive (key-seal.ts): a record written or edited by whoever can write Cosmos DB does not act.
    const record: ApiKeyRecord = await sealRecord<ApiKeyRecord>({
      id: apiKeyRecordId(keyId),
      tenantId: input.tenantId,
      type: 'api-key',
      keyId,
      name: input.name,
      rightsSet: input.rightsSet,
      prefix,
      hash: { alg: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64'), value: value.toString('base64'), pepper: pepperName, pepperVersion },
      createdAt: input.now.toISOString(),
      createdBy: input.createdBy,
      ceiling: [...input.ceiling].sort(),
      personPermissions: [...input.personPermissions].sort(),
      personAssigned,
      expiresAt: expiresAt.toISOString(),
      lastUsedAt: null,
      revokedAt: null,
      revokedBy: null,
      endsAt: expiresAt.toISOString(),
    }, deps.audit.chainKeys);
    // Created, never upserted: the id is 96 random bits, and a taken one would only read as a change (and end in 503).
    const writes: TenantRecordWrite[] = [gateMoved(gate, record.id), ...(relied ? [{ op: 'replace' as const, record: relied.value, ifMatch: relied.etag }] : []), { op: 'create', record }];
    // What the key may do and until when, in the chain: a key revoked since is no longer listed as in use. And the digest
    // of what its seal covers: the witness of this very record once its seal's key version is superseded (key-seal.ts).
    const written = await writeWithAuditEntry(input.audit, { target: `api-key:${keyId}`, detail: `rights-set=${record.rightsSet};expires=${record.expiresAt};sealed-digest=${sealedDigest(record)}` }, (outbox) => deps.tenantRecords.batch(input.tenantId, writes, outbox), (r) => r === 'written');
    return written === 'written' ? { key: `${prefix}_${secret}`, record } : CHANGED;
  });
}
