/**
 * Fiscal-year exports: start one, watch its progress bar, download finished ones after checking their SHA-256, and
 * check a copy (the unpacked folder or the ZIP) against the archive.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ProblemError, unwrap, type ArchiveExport } from '../api';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { CopyCheck } from '../components/CopyCheck';
import { VerifiedDownload } from '../components/VerifiedDownload';
import { useI18n } from '../i18n';
import { pollWhile } from '../lib/retry-after';
import { failedExportProblem } from '../lib/problem-sentence';
import { useRetryWait } from '../lib/useRetryWait';
import { useAttemptKey } from '../lib/attempt-key';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';
import { Link } from '../router';

const POLL_MS = 1000;
/** The earlier exports listed: the newest page of GET /exports (its newest first); past it the list says so. */
const EXPORTS_SHOWN = 50;

export function ExportsScreen(_: ScreenProps) {
  const { t, dateTime } = useI18n();
  const queries = useQueryClient();
  const [fiscalYear, setFiscalYear] = useState(String(new Date().getFullYear() - 1));
  const [includeOriginals, setIncludeOriginals] = useState(true);
  const [dutchCsv, setDutchCsv] = useState(true);
  const [current, setCurrent] = useState<string | null>(null);
  const [checking, setChecking] = useState<string | null>(null);

  const list = useQuery({
    queryKey: ['exports'],
    queryFn: () => unwrap(api().GET('/exports', { params: { query: { limit: EXPORTS_SHOWN } } })),
    // While one runs; after a refused or unanswered poll, no sooner than its Retry-After.
    refetchInterval: pollWhile(POLL_MS * 3, (page) => page.items.some((e) => e.status === 'running')),
  });

  const attempt = useAttemptKey([fiscalYear, includeOriginals, dutchCsv]);
  const start = useMutation({
    mutationFn: () =>
      unwrap(
        api().POST('/exports', {
          body: { fiscalYear: Number(fiscalYear), includeOriginals, csv: dutchCsv ? { separator: ';', decimalMark: ',' } : { separator: ',', decimalMark: '.' } },
          headers: { 'Idempotency-Key': attempt.key },
        }),
      ),
    onSuccess: (job) => {
      attempt.next();
      setCurrent(job.id);
      queries.setQueryData(['export', job.id], job);
      void queries.invalidateQueries({ queryKey: ['exports'] });
    },
  });
  // too_many_exports (429) names when one may be started again: until then the button stays disabled.
  const wait = useRetryWait(start.error);
  const problem = start.error instanceof ProblemError ? start.error.problem : null;
  const errors = fieldErrors(problem, t);

  const checkedExport = list.data?.items.find((e) => e.id === checking && mayCheck(e));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (start.isPending || wait > 0) return;
    start.mutate();
  };

  return (
    <>
      <h1 tabIndex={-1}>{t.exports.title}</h1>
      <section className="panel" aria-labelledby="h-start">
        <h2 id="h-start">{t.exports.start}</h2>
        <p className="muted">{t.exports.intro}</p>
        <form onSubmit={submit} className="export-form" noValidate>
          <FormField id="x-fiscalYear" label={t.exports.fiscalYear} error={errors.fiscalYear}>
            <input inputMode="numeric" size={6} value={fiscalYear} onChange={(e) => setFiscalYear(e.target.value)} />
          </FormField>
          <label className="check">
            <input type="checkbox" checked={includeOriginals} onChange={(e) => setIncludeOriginals(e.target.checked)} />
            {t.exports.includeOriginals}
          </label>
          <label className="check">
            <input type="checkbox" checked={dutchCsv} onChange={(e) => setDutchCsv(e.target.checked)} />
            {t.exports.csvDutch}
          </label>
          <div>
            <button type="submit" disabled={start.isPending || wait > 0}>{start.isPending ? t.exports.starting : t.exports.submit}</button>
          </div>
        </form>
        {start.error ? <ProblemMessage error={start.error} ownedFields={['fiscalYear']} /> : null}
        {current && <ExportProgress id={current} />}
      </section>

      <section className="panel" aria-labelledby="h-earlier">
        <h2 id="h-earlier">{t.exports.earlier}</h2>
        {list.error ? <ProblemMessage error={list.error} /> : null}
        {list.data && list.data.items.length === 0 && <p className="muted">{t.exports.none}</p>}
        {list.data && list.data.items.length > 0 && <ExportTable items={list.data.items} onCheck={setChecking} />}
        {/* The first page only: without this an export past it was simply missing, the list read as all there is. */}
        {list.data?.continuationToken && <p className="hint">{t.exports.newestOnly(EXPORTS_SHOWN)}</p>}
      </section>
      {/* Bound to the export chosen in the list; before one is chosen, the folder of any export (the list shows the newest 50). */}
      <CopyCheck exp={checkedExport ?? null} title={checkedExport ? t.copyCheck.title(dateTime(checkedExport.createdAt)) : t.copyCheck.titleAny} />
    </>
  );
}

/** The export just started: a <progress> bar fed by polling GET /exports/{id} until it ends. */
function ExportProgress({ id }: { id: string }) {
  const { t } = useI18n();
  const queries = useQueryClient();
  const job = useQuery({
    queryKey: ['export', id],
    queryFn: async () => {
      const result = await unwrap(api().GET('/exports/{id}', { params: { path: { id } } }));
      if (result.status !== 'running') void queries.invalidateQueries({ queryKey: ['exports'] });
      return result;
    },
    refetchInterval: pollWhile(POLL_MS, (e) => e.status === 'running'),
  });
  const e = job.data;
  if (!e) return job.error ? <ProblemMessage error={job.error} /> : null;
  const { total, documents } = e.progress;
  return (
    <div className="export-progress">
      <label htmlFor={`progress-${id}`}>{t.exports.progress}: {t.exports.statuses[e.status] ?? e.status}</label>
      <progress id={`progress-${id}`} max={Math.max(total, 1)} value={e.status === 'completed' ? Math.max(total, 1) : documents} />
      <p role="status" aria-live="polite" className="status-line">
        {t.exports.statuses[e.status]} — {t.exports.progressText(documents, total)}
      </p>
      {/* A poll refused (429) or unanswered (503) while the export runs: why the bar stands still, and for how long. */}
      {job.error ? <ProblemMessage error={job.error} /> : null}
      {e.status === 'failed' && <ProblemMessage problem={failedExportProblem(e.error, e.requestId, t)} />}
      {e.status === 'completed' && e.archive && <VerifiedDownload path={`/exports/${encodeURIComponent(e.id)}/download`} sha256={e.archive.sha256} fileName={`export-${e.id}.zip`} label={t.exports.download} />}
    </div>
  );
}

/** The search for what was corrected since an export: its own selection's fiscal year, from the moment it was started. */
function changedSinceLink(e: ArchiveExport): string {
  const q = new URLSearchParams({ correctedSince: e.createdAt });
  if (e.filter.fiscalYear !== undefined) q.set('fiscalYear', String(e.filter.fiscalYear));
  return `/?${q.toString()}`;
}

/** A copy can be proven of an export that completed once the archive kept its manifest.json's record: also after its ZIP expired. */
const mayCheck = (e: ArchiveExport) => (e.status === 'completed' || e.status === 'expired') && e.manifestJson !== undefined;

function ExportTable({ items, onCheck }: { items: ArchiveExport[]; onCheck: (id: string) => void }) {
  const { t, dateTime, bytes } = useI18n();
  return (
    <DataTable columns={[t.exports.created, t.exports.filter, t.exports.status, { label: t.exports.size, numeric: true }, t.exports.expires, t.exports.actions]}>
      {items.map((e) => (
        <tr key={e.id}>
          <td>{dateTime(e.createdAt)}</td>
          <td>
            {e.filter.fiscalYear !== undefined ? `${t.exports.fiscalYear} ${e.filter.fiscalYear}` : t.exports.all}
            {e.filter.correctedSince ? `, ${t.exports.correctedSince(dateTime(e.filter.correctedSince))}` : ''}
            {e.includeOriginals ? ` + ${t.document.originals.toLowerCase()}` : ''}
            {/* Corrections made after it are not in it: the documents corrected since, as a search (and from there an export). */}
            {e.status === 'completed' && <><br /><Link className="small" href={changedSinceLink(e)}>{t.exports.changedSince}</Link></>}
          </td>
          <td>
            <span className={`badge ${e.status}`}>{t.exports.statuses[e.status] ?? e.status}</span>{e.status === 'running' ? ` (${t.exports.progressText(e.progress.documents, e.progress.total)})` : ''}
            {!e.sealed && <> <span className="badge warning">{t.exports.notSealed}</span><br /><span className="muted small">{t.exports.notSealedHelp}</span></>}
          </td>
          <td className="num">{e.archive ? bytes(e.archive.size) : ''}</td>
          <td>{dateTime(e.expiresAt)}</td>
          <td>
            {e.status === 'completed' && e.archive ? (
              <VerifiedDownload path={`/exports/${encodeURIComponent(e.id)}/download`} sha256={e.archive.sha256} fileName={`export-${e.id}.zip`} label={t.exports.download} />
            ) : (
              !mayCheck(e) && <span className="muted">—</span>
            )}
            {mayCheck(e) && (
              <button type="button" className="secondary" aria-label={t.copyCheck.title(dateTime(e.createdAt))} onClick={() => onCheck(e.id)}>
                {t.copyCheck.open}
              </button>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
