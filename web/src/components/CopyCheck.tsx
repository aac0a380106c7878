/**
 * "Check a copy" of one export: the person picks the unpacked folder or the ZIP; every file is hashed in this browser
 * (off the page's thread) and judged as `archive verify --against-archive` judges it (web/src/lib/copy-check.ts over
 * cli/copy-check.ts). The verdict, with every difference, in a live region.
 */
import { useEffect, useRef, useState, type ChangeEvent } from 'react';
import { useI18n } from '../i18n';
import { namesNoExport } from '../../../cli/copy-check';
import { api, unwrap } from '../api';
import { checkFolder, checkZip, type CheckedExport, type CopyProof, type CopyVerdict, type LookUpExport } from '../lib/copy-check';
import { sha256OffThread } from '../lib/sha256-off-thread';
import { ProblemMessage } from './ProblemMessage';

type State = { stage: 'idle' } | { stage: 'hashing'; done: number; total: number } | { stage: 'done'; verdict: CopyVerdict } | { stage: 'error'; error: unknown };

/** The export a folder's manifest.json names, as the archive answers it for this tenant (none: another tenant's, or made up). */
const lookUpExport: LookUpExport = async (id) => {
  const answer = await api().GET('/exports/{id}', { params: { path: { id } } });
  if (namesNoExport(answer.response.status)) return null;
  return unwrap(Promise.resolve(answer));
};

/** `exp`: the export chosen in the list (its folder or its ZIP); null: the folder of any export, looked up by the id its manifest.json names. */
export function CopyCheck({ exp, title }: { exp: CheckedExport | null; title: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<State>({ stage: 'idle' });
  const heading = useRef<HTMLHeadingElement>(null);
  // Only the latest pick's outcome is shown: one picked while another is still hashing replaces it.
  const run = useRef(0);
  useEffect(() => {
    setState({ stage: 'idle' });
    // Focus follows the person's choice of an export in the list; the panel for any export, there from the start, takes none.
    if (exp) heading.current?.focus();
  }, [exp?.id]);

  const check = (e: ChangeEvent<HTMLInputElement>, what: 'folder' | 'zip') => {
    const files = [...(e.target.files ?? [])];
    e.target.value = '';
    if (files.length === 0) return;
    const mine = ++run.current;
    const progress = (done: number, total: number) => {
      if (run.current === mine) setState({ stage: 'hashing', done, total });
    };
    progress(0, files.reduce((sum, f) => sum + f.size, 0));
    const judged = what === 'zip' && exp ? checkZip(files[0]!, exp, sha256OffThread, progress) : checkFolder(files, exp ?? lookUpExport, sha256OffThread, progress);
    judged.then(
      (verdict) => run.current === mine && setState({ stage: 'done', verdict }),
      (error: unknown) => run.current === mine && setState({ stage: 'error', error }),
    );
  };
  const busy = state.stage === 'hashing';

  return (
    <section className="panel copy-check" aria-labelledby="h-copy-check">
      <h2 id="h-copy-check" tabIndex={-1} ref={heading}>{title}</h2>
      <p className="muted">{exp ? t.copyCheck.intro : t.copyCheck.introAny}</p>
      <div className="copy-check-pickers">
        <div>
          <label htmlFor="cc-folder">{t.copyCheck.folder}</label>
          <input id="cc-folder" type="file" disabled={busy} ref={(el) => { if (el) el.webkitdirectory = true; }} onChange={(e) => check(e, 'folder')} />
        </div>
        <div>
          {!exp ? (
            <p className="muted">{t.copyCheck.zipNeedsExport}</p>
          ) : exp.archive ? (
            <>
              <label htmlFor="cc-zip">{t.copyCheck.zip}</label>
              <input id="cc-zip" type="file" accept=".zip,application/zip" disabled={busy} onChange={(e) => check(e, 'zip')} />
            </>
          ) : (
            <p className="muted">{t.copyCheck.zipNotOnRecord}</p>
          )}
        </div>
      </div>
      {busy && state.total > 0 && <progress max={state.total} value={state.done} aria-label={t.copyCheck.progress} />}
      <div className="copy-verdict" role="status" aria-live="polite">
        {state.stage === 'done' && <Verdict verdict={state.verdict} />}
      </div>
      {state.stage === 'error' && <ProblemMessage error={state.error} />}
    </section>
  );
}

function Verdict({ verdict }: { verdict: CopyVerdict }) {
  const { t } = useI18n();
  const c = t.copyCheck;
  switch (verdict.kind) {
    case 'zip-not-on-record':
      return <p><span className="not-verified">✗ {c.notVerified}</span> {c.zipNotOnRecord}</p>;
    case 'not-an-export':
      return <p><span className="not-verified">✗ {c.notVerified}</span> {verdict.reason === 'no-manifest' ? c.noManifest : c.notAManifest}</p>;
    case 'zip':
      return verdict.ok ? <p><span className="verified">✓ {c.verifiedZip(verdict.fileName)}</span></p> : <p><span className="not-verified">✗ {c.notVerified}</span> {c.zipDiffers(verdict.fileName)}</p>;
    case 'folder': {
      const r = verdict.result;
      const csvBroken = r.mismatched.includes('manifest.csv') || r.missing.includes('manifest.csv');
      const differences = [
        ...r.mismatched.map((p) => [c.differs, p] as const),
        ...r.missing.map((p) => [c.missing, p] as const),
        ...r.unexpected.map((p) => [c.notInManifest, p] as const),
      ];
      return (
        <>
          <p>{verdict.ok ? <span className="verified">✓ {c.verifiedFolder(r.csvCovered)}</span> : <span className="not-verified">✗ {c.notVerified}</span>}</p>
          <p>{c.counts(r.documents, r.files, r.verified)}</p>
          {!r.csvCovered ? <p>{c.csvNotCovered}</p> : !csvBroken ? <p>{c.csvMatches}</p> : null}
          {verdict.zipUnchecked && <p>{c.zipInFolderUnchecked(verdict.zipUnchecked)}</p>}
          {differences.length > 0 && (
            <ul className="copy-differences">
              {differences.map(([what, path]) => <li key={`${what} ${path}`}><strong>{what}:</strong> <code><bdi>{path}</bdi></code></li>)}
            </ul>
          )}
          <p className={verdict.proof.status === 'proven' ? undefined : 'copy-proof-failed'}><strong>{c.archive}:</strong> <ProofText proof={verdict.proof} /></p>
        </>
      );
    }
  }
}

function ProofText({ proof }: { proof: CopyProof }) {
  const { t, dateTime } = useI18n();
  const c = t.copyCheck;
  switch (proof.status) {
    case 'proven':
      return <>{c.proven(dateTime(proof.completedAt), proof.createdBy)}</>;
    case 'differs':
      return <>{c.manifestDiffers}</>;
    case 'other-export':
      return <>{c.otherExport(proof.exportId)}</>;
    case 'unknown-export':
      return <>{c.unknownExport(proof.exportId)}</>;
    case 'not-recorded':
      return <>{c.notRecorded}</>;
    case 'no-export-id':
      return <>{c.noExportId}</>;
  }
}
