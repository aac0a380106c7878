/**
 * The Java validator's signature on the outcome it posts to `<queue>-outcome` (validator/, OutcomeSignature.java): an
 * HMAC-SHA256 under the validator's own Key Vault secret (`validator-outcome-key`, hex, at least 32 bytes), which the
 * storage account's data-plane roles do not hold. Without it, whoever can create blobs and send queue messages planted
 * a "compliant" validation.json and announced it with its SHA-256: a rendition never validated was recorded PDF/A.
 *
 * The MAC covers `archive-validation-outcome\n` (the purpose: no other seal passes for it) and the five fields, one a
 * line; a field with a line break in it is refused, so the lines say which field is which.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The fields a signature covers, in this order. */
export interface OutcomeFields {
  tenantId: string;
  documentId: string;
  renditionSha256: string;
  reportBlobName: string;
  reportSha256: string;
}

const PURPOSE = 'archive-validation-outcome';
const FIELDS = ['tenantId', 'documentId', 'renditionSha256', 'reportBlobName', 'reportSha256'] as const;

/** The key from the secret's value: hex, at least 32 bytes (as the audit chain key); anything else throws. */
export function outcomeKey(secret: string): Buffer {
  const hex = secret.trim();
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(hex)) throw new Error('the validator outcome key must be at least 32 bytes, hex-encoded');
  return Buffer.from(hex, 'hex');
}

/** What is MACed; null when a field is missing or holds a line break (no unambiguous form). */
function signedText(fields: Partial<Record<keyof OutcomeFields, unknown>>): string | null {
  const values = FIELDS.map((f) => fields[f]);
  if (!values.every((v): v is string => typeof v === 'string' && !/[\r\n]/.test(v))) return null;
  return [PURPOSE, ...values].join('\n');
}

/** The signature (hex) the validator puts on an outcome. */
export function outcomeSignature(fields: OutcomeFields, key: Buffer): string {
  const text = signedText(fields);
  if (text === null) throw new Error('validation outcome fields must be single-line strings');
  return createHmac('sha256', key).update(text).digest('hex');
}

/** Whether `signature` is the validator's over these fields (compared in constant time). */
export function signedByValidator(fields: Partial<Record<keyof OutcomeFields, unknown>>, signature: unknown, key: Buffer): boolean {
  const text = signedText(fields);
  if (text === null || typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
  const expected = createHmac('sha256', key).update(text).digest();
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
