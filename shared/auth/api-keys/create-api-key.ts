import { randomBytes } from 'node:crypto';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import type { Permission } from '../../kernel/principal';
import { findRightsAssignment } from '../rights-sets/find-rights-assignment';
import { ApiKeyDeps, ApiKeyRecord, apiKeyRecordId, hashSecret, SCRYPT } from './api-key';

/** A new key; the secret is in `key`, returned this once (only its hash is stored). */
export async function createApiKey(
  input: { tenantId: string; name: string; rightsSet: string; expiresAt: Date; createdBy: { subject: string; kind: string; person: string }; ceiling: Permission[]; personPermissions: Permission[]; now: Date; /** The request's audit entry, stored with the key. */ audit?: AuditStaging },
  deps: ApiKeyDeps,
): Promise<{ key: string; record: ApiKeyRecord }> {
  const pepperName = deps.config.API_KEY_PEPPER_SECRET_NAME;
  const keyId = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const { hash: value, pepperVersion } = await hashSecret(deps, secret, salt, SCRYPT, { name: pepperName });
  // Whether the tenant decides the person's rights: then the key follows what it decides later (authenticate.ts).
  const personAssigned = (await findRightsAssignment(input.tenantId, input.createdBy.person, deps)) !== null;
  const prefix = `arch_${input.tenantId}_${keyId}`;
  const record: ApiKeyRecord = {
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
    expiresAt: input.expiresAt.toISOString(),
    lastUsedAt: null,
    revokedAt: null,
    revokedBy: null,
  };
  const created = await writeWithAuditEntry(input.audit, { target: `api-key:${keyId}` }, (outbox) => deps.tenantRecords.create(record, outbox), (r) => r === 'created');
  if (created !== 'created') throw new Error('API key id collision');
  return { key: `${prefix}_${secret}`, record };
}
