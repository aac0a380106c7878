import type { ArchivedDocument } from './document';

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

/** The item with keys derived from its current metadata (stale or missing keys replaced, keys of removed values dropped). */
export function withSearchKeys(doc: ArchivedDocument): ArchivedDocument {
  const { counterpartyKey: _c, referenceKey: _r, ...rest } = doc;
  return { ...rest, ...searchKeysOf(doc.metadata) };
}

/** Whether the item's stored keys are the ones its metadata gives (the reconciler migrates the others). */
export function hasCurrentSearchKeys(doc: ArchivedDocument): boolean {
  const want = searchKeysOf(doc.metadata);
  return doc.counterpartyKey === want.counterpartyKey && doc.referenceKey === want.referenceKey;
}
