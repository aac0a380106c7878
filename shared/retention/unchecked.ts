import type { Logger } from '../ports';

/** Operators are alerted on this exact phrase (infra/main.bicep, documentCheckFailedAlert). */
export const DOCUMENT_CHECK_FAILED = 'could not check a document';

/**
 * More documents than this that could not be checked in one run is the store failing, not the
 * documents: the run stops (its timer fails and keeps its continuation) rather than walk on past
 * documents it never checked.
 */
export const MAX_UNCHECKED_PER_RUN = 20;

export interface UncheckedDocument {
  tenantId: string;
  documentId: string;
  error: string;
}

/**
 * The cross-tenant walks (reconciler, fixity check, retention sweep, the local host's start-up re-index) check
 * each document alone: one they cannot check (a catalog item without its originals, a manifest
 * that is not JSON) is named in an error line for an operator and skipped, so it cannot stop
 * the walk for every tenant behind it.
 */
export class UncheckedDocuments {
  readonly documents: UncheckedDocument[] = [];

  constructor(
    private readonly walk: 'reconciler' | 'fixity check' | 'retention sweep' | 'catalog rebuild',
    private readonly log: Logger,
  ) {}

  async check<T>(tenantId: string, documentId: string, check: () => Promise<T>, skipped: T): Promise<T> {
    try {
      return await check();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.documents.push({ tenantId, documentId, error });
      this.log.error(`${this.walk} ${DOCUMENT_CHECK_FAILED}`, { tenantId, documentId, error });
      if (this.documents.length > MAX_UNCHECKED_PER_RUN) throw err;
      return skipped;
    }
  }
}
