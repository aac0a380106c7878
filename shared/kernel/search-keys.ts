import { type ArchivedDocument, correctionSearchFields } from './document';

/**
 * The normalised form counterparty and reference are searched by: compatibility-decomposed (NFKD),
 * combining marks stripped, lower-cased, runs of white space collapsed to one space and trimmed.
 * `Épicerie  Ève` and `epicerie eve` have the same key; a search is a prefix of it.
 */
export function searchKey(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/\s+/gu, ' ').trim();
}

export interface SearchKeys {
  counterpartyKey?: string;
  referenceKey?: string;
}

/** The keys a catalog item carries for its metadata (absent where the metadata has no value). */
export function searchKeysOf(metadata: { counterparty?: string; reference?: string }): SearchKeys {
  return {
    ...(metadata.counterparty !== undefined ? { counterpartyKey: searchKey(metadata.counterparty) } : {}),
    ...(metadata.reference !== undefined ? { referenceKey: searchKey(metadata.reference) } : {}),
  };
}

/**
 * A corrected item's correction search fields (document.ts correctionSearchFields): when it was last corrected, and
 * every fiscal year it has been in. An item corrected before they existed gets its current year only: the years it
 * was in before are not recorded anywhere.
 */
function correctionFieldsOf(doc: ArchivedDocument): Pick<ArchivedDocument, 'correctedAt' | 'fiscalYearsEver'> {
  const last = doc.metadataHistory?.at(-1);
  // Corrections brought back after a restore changed the item's details when they were brought back (document.ts).
  const at = last && doc.correctionsRestoredAt !== undefined && doc.correctionsRestoredAt > last.at ? doc.correctionsRestoredAt : last?.at;
  return last && at ? correctionSearchFields({ fiscalYear: doc.fiscalYear, fiscalYearsEver: doc.fiscalYearsEver ?? [] }, doc.fiscalYear, at) : {};
}

/**
 * The item with keys derived from its current metadata (stale or missing keys replaced, keys of removed values
 * dropped) and its correction search fields from its corrections.
 */
export function withSearchKeys(doc: ArchivedDocument): ArchivedDocument {
  const { counterpartyKey: _c, referenceKey: _r, correctedAt: _a, fiscalYearsEver: _y, ...rest } = doc;
  return { ...rest, ...searchKeysOf(doc.metadata), ...correctionFieldsOf(doc) };
}

/** Whether the item's stored keys and correction fields are the ones it gives (the reconciler migrates the others). */
export function hasCurrentSearchKeys(doc: ArchivedDocument): boolean {
  const want = { ...searchKeysOf(doc.metadata), ...correctionFieldsOf(doc) };
  return doc.counterpartyKey === want.counterpartyKey && doc.referenceKey === want.referenceKey && doc.correctedAt === want.correctedAt && doc.fiscalYearsEver?.join() === want.fiscalYearsEver?.join();
}
