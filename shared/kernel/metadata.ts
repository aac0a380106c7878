/**
 * A document's metadata as a client sends it: its own file (zod and the retention class name only), so
 * the web app checks an upload's details with the very schema the API applies, without Node types.
 */
import { z } from 'zod';
import { RETENTION_CLASS_NAME } from './retention';

import { DOCUMENT_KINDS } from './document-kinds';
import { shownText } from './text';

export { DOCUMENT_KINDS };
/** Built-in (`fiscal-7y`, `immovable-property-10y`) or defined by the tenant (shared/retention/policy.ts). */
export type RetentionClass = string;

/** The last year a document may be dated in or belong to: its retain-until stays a four-digit year, which every comparison of instants as text relies on. */
const LAST_YEAR = 2200;

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'is not a real calendar date')
  .refine((s) => Number(s.slice(0, 4)) <= LAST_YEAR, `must be in ${LAST_YEAR} or earlier`);

/** One line shown to people (kernel/text.ts): direction marks allowed, which Hebrew and Arabic names use. */
const text = (max: number) => shownText('line', max);

/**
 * An amount, or a bound of a search by amount: finite, and no larger than JSON numbers hold exactly as integers. A larger
 * one was read as the nearest double and stored so (9007199254740993 became 9007199254740992): another amount than sent.
 */
export const amountOf = (n: z.ZodNumber) => n.finite().min(-Number.MAX_SAFE_INTEGER, 'must be at least -9007199254740991 (larger amounts are not kept exactly)').max(Number.MAX_SAFE_INTEGER, 'must be at most 9007199254740991 (larger amounts are not kept exactly)');

/** Metadata a client may send with a document; unknown keys are refused. */
export const ZDocumentMetadata = z
  .strictObject({
    documentDate: isoDate.optional(),
    fiscalYear: z.number().int().min(1900).max(LAST_YEAR).optional(),
    kind: z.enum(DOCUMENT_KINDS).optional(),
    counterparty: text(200).optional(),
    amount: amountOf(z.number()).optional(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR').optional(),
    reference: text(200).optional(),
    // No comma: a search takes tags comma-separated (GET /documents?tags=…, the web app's filter and correction form) and
    // the document page lists them so. One tag `te-controleren, Q4` showed as the two tags a review search asks for, and
    // that search never found it. Said as the other refused characters are (the web app names U+XXXX in its language).
    // No vertical line either: the export's manifest.csv joins a document's tags with ` | ` (red team 26).
    tags: z.array(text(50).refine((t) => !t.includes(','), 'must not contain U+002C (a comma: tags are separated by commas)').refine((t) => !t.includes('|'), "must not contain U+007C (a vertical line: an export's manifest.csv separates tags with ' | ')")).max(20).optional(),
    retentionClass: z.string().regex(RETENTION_CLASS_NAME, 'must be a retention class name').optional(),
  })
  .refine((m) => (m.amount === undefined) === (m.currency === undefined), { message: 'amount and currency go together', path: ['currency'] });
export type TDocumentMetadata = z.infer<typeof ZDocumentMetadata>;
