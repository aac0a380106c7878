/** The kinds of document the archive knows: a file of its own, without zod, so the web app's first load can list them. */
export const DOCUMENT_KINDS = ['invoice', 'receipt', 'credit-note', 'bank-statement', 'contract', 'other'] as const;
