/**
 * One document: the rendition previewed in the page, its details, originals, conversion, validation,
 * retention and holds, its own audit trail, verified downloads and a metadata correction with a reason.
 */
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState, type FormEvent } from 'react';
import { api, apiFetch, ProblemError, unwrap, type ArchiveDocument } from '../api';
import { fieldErrors, FieldError, ProblemMessage } from '../components/ProblemMessage';
import { VerifiedDownload } from '../components/VerifiedDownload';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { metadataValue } from '../lib/metadata-form';
import { firstAuditParam, nextAuditParam, type AuditTrailParam } from '../lib/audit-trail';
import { Link } from '../router';
import type { ScreenProps } from '.';
import { ExtendRetention, PlaceHold, ReleaseHold } from './document-jobs';
import { DataTable } from '../components/DataTable';

const PdfPreview = lazy(() => import('../components/PdfPreview'));

export function DocumentScreen({ params }: ScreenProps) {
  const id = params.id!;
  const { t } = useI18n();
  const doc = useQuery({ queryKey: ['document', id], queryFn: () => unwrap(api().GET('/documents/{id}', { params: { path: { id } } })) });

  if (doc.error) {
    return (
      <>
        <h1 tabIndex={-1}>{t.document.title(id)}</h1>
        <ProblemMessage error={doc.error} />
        <p><Link href="/">{t.backToDocuments}</Link></p>
      </>
    );
  }
  if (!doc.data) return <p role="status">{t.loading}</p>;
  const d = doc.data;
  const base = `/documents/${encodeURIComponent(id)}`;
  return (
    <>
      <p className="breadcrumb"><Link href="/">← {t.backToDocuments}</Link></p>
      <h1 tabIndex={-1}>{t.document.title(d.metadata.reference ?? t.document.untitled)}</h1>
      <div className="document-layout">
        <section className="panel preview-panel" aria-labelledby="h-preview">
          <h2 id="h-preview">{t.document.preview}</h2>
          {d.status === 'active' ? (
            <Suspense fallback={<p role="status">{t.document.previewLoading}</p>}>
              <PdfPreview path={`${base}/rendition`} />
            </Suspense>
          ) : (
            <p className="muted">{t.problem.problems.document_disposed}</p>
          )}
        </section>
        <div className="document-side">
          <section className="panel" aria-labelledby="h-download">
            <h2 id="h-download">{t.document.download}</h2>
            <VerifiedDownload path={`${base}/rendition`} sha256={d.rendition.sha256} fileName={`${id}.pdf`} label={t.document.downloadRendition} />
          </section>
          <Metadata d={d} />
          <Retention d={d} />
        </div>
      </div>
      <Correction d={d} reloading={doc.isFetching} />
      <Files d={d} base={base} />
      <Conversion d={d} />
      <History id={id} />
      <AuditTrail d={d} />
    </>
  );
}

function Metadata({ d }: { d: ArchiveDocument }) {
  const { t, money, date, dateTime } = useI18n();
  const m = d.metadata;
  const rows: [string, string][] = [
    [t.fields.documentDate!, m.documentDate ? date(m.documentDate) : ''],
    [t.fields.kind!, m.kind ? t.kinds[m.kind] ?? m.kind : ''],
    [t.fields.counterparty!, m.counterparty ?? ''],
    [t.fields.amount!, m.amount !== undefined && m.currency ? money(m.amount, m.currency) : ''],
    [t.fields.reference!, m.reference ?? ''],
    [t.fields.fiscalYear!, String(d.fiscalYear)],
    [t.fields.tags!, (m.tags ?? []).join(', ')],
    [t.fields.pages!, String(d.pages)],
    [t.fields.createdAt!, dateTime(d.createdAt)],
    [t.fields.createdBy!, d.createdBy.person ?? d.createdBy.subject],
  ];
  return (
    <section className="panel" aria-labelledby="h-metadata">
      <h2 id="h-metadata">{t.document.metadata}</h2>
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v || <span className="muted">—</span>}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Retention({ d }: { d: ArchiveDocument }) {
  const { t, date, dateTime } = useI18n();
  const extensions = d.retention.extensions ?? [];
  return (
    <section className="panel" aria-labelledby="h-retention">
      <h2 id="h-retention">{t.document.retention}</h2>
      <dl className="facts">
        <div><dt>{t.document.retentionClass}</dt><dd>{d.retention.class}</dd></div>
        <div><dt>{t.document.retainUntil}</dt><dd>{date(d.retention.retainUntil)}</dd></div>
        <div><dt>{t.document.legalHold}</dt><dd>{d.legalHold ? t.yes : t.no}</dd></div>
      </dl>
      {extensions.length > 0 && (
        <ul className="holds" aria-label={t.jobs.extensions}>
          {extensions.map((x) => (
            <li key={x.at}>
              {t.jobs.extension(date(x.from), date(x.to))} — {x.reason}
              <br />
              <span className="muted">{dateTime(x.at)} ({x.by.person ?? x.by.subject})</span>
            </li>
          ))}
        </ul>
      )}
      <ExtendRetention d={d} />
      <h3 className="sub">{t.document.holds}</h3>
      {d.holds.length === 0 ? (
        <p className="muted">{t.document.noHolds}</p>
      ) : (
        <ul className="holds">
          {d.holds.map((h) => (
            <li key={h.id}>
              <strong>{h.caseReference}</strong> — {h.reason}
              <br />
              <span className="muted">
                {t.document.placed} {dateTime(h.placedAt)} ({h.placedBy.person ?? h.placedBy.subject});{' '}
                {h.releasedAt ? `${t.document.released} ${dateTime(h.releasedAt)}${h.releasedBy ? ` (${h.releasedBy.person ?? h.releasedBy.subject})` : ''}` : t.document.open}
              </span>
              {h.extendedAt && (
                <>
                  <br />
                  <span className="muted">{t.document.reachedLater(dateTime(h.extendedAt))}</span>
                </>
              )}
              {h.withdrewDisposalApproval && (
                <>
                  <br />
                  <span className="muted">{t.document.withdrewApproval(dateTime(h.withdrewDisposalApproval.approvedAt), h.withdrewDisposalApproval.approvedBy.person ?? h.withdrewDisposalApproval.approvedBy.subject)}</span>
                </>
              )}
              <ReleaseHold d={d} hold={h} />
            </li>
          ))}
        </ul>
      )}
      <PlaceHold d={d} />
    </section>
  );
}

function Files({ d, base }: { d: ArchiveDocument; base: string }) {
  const { t, bytes } = useI18n();
  return (
    <section className="panel" aria-labelledby="h-files">
      <h2 id="h-files">{t.document.originals}</h2>
      <DataTable columns={[t.document.fileName, t.document.mediaType, { label: t.document.size, numeric: true }, t.document.sha256, t.document.download]}>
        {d.originals.map((o, i) => (
          <tr key={o.sha256 + i}>
            <td>{o.fileName ?? `original-${i + 1}`}</td>
            <td>{o.mediaType}</td>
            <td className="num">{bytes(o.size)}</td>
            <td><code className="hash">{o.sha256}</code></td>
            <td>
              <VerifiedDownload path={`${base}/originals/${i + 1}`} sha256={o.sha256} fileName={o.fileName ?? `original-${i + 1}`} label={t.document.downloadOriginal(i + 1)} />
            </td>
          </tr>
        ))}
        <tr>
          <td>{t.document.rendition}</td>
          <td>{d.rendition.mediaType}</td>
          <td className="num">{bytes(d.rendition.size)}</td>
          <td><code className="hash">{d.rendition.sha256}</code></td>
          <td className="muted">—</td>
        </tr>
      </DataTable>
    </section>
  );
}

function Conversion({ d }: { d: ArchiveDocument }) {
  const { t, dateTime } = useI18n();
  const v = d.validation as { status: string; validatedAt?: string; profile?: string; failedRules?: unknown[] };
  return (
    <section className="panel two-col" aria-labelledby="h-conversion">
      <div>
        <h2 id="h-conversion">{t.document.conversion}</h2>
        <dl className="facts">
          <div><dt>{t.document.normaliser}</dt><dd>{d.conversion.normaliser}</dd></div>
          <div><dt>{t.document.conformance}</dt><dd>{d.conversion.conformance}{d.conversion.conformanceReason ? ` — ${d.conversion.conformanceReason}` : ''}</dd></div>
          <div><dt>{t.fields.pages}</dt><dd>{d.conversion.pageCount}</dd></div>
        </dl>
      </div>
      <div>
        <h2 id="h-validation">{t.document.validation}</h2>
        <dl className="facts">
          <div><dt>{t.fields.status}</dt><dd><span className={`badge ${v.status}`}>{t.document.validationStatus[v.status] ?? v.status}</span></dd></div>
          {v.profile && <div><dt>{t.document.profile}</dt><dd>{v.profile}</dd></div>}
          {v.validatedAt && <div><dt>{t.document.auditWhen}</dt><dd>{dateTime(v.validatedAt)}</dd></div>}
        </dl>
      </div>
    </section>
  );
}

const EDITABLE = ['documentDate', 'kind', 'counterparty', 'amount', 'currency', 'reference', 'tags'] as const;
type Editable = (typeof EDITABLE)[number];

const formOf = (d: ArchiveDocument): Record<Editable | 'reason', string> => ({
  documentDate: d.metadata.documentDate ?? '',
  kind: d.metadata.kind ?? '',
  counterparty: d.metadata.counterparty ?? '',
  amount: d.metadata.amount !== undefined ? String(d.metadata.amount) : '',
  currency: d.metadata.currency ?? '',
  reference: d.metadata.reference ?? '',
  tags: (d.metadata.tags ?? []).join(', '),
  reason: '',
});

/**
 * The correction form starts from the document as it is when opened, and sends that version as If-Match.
 * It opens only once a reload has answered: on a return to the document the copy shown is the one read
 * before, and a form started from it sent its old values over someone else's later correction.
 */
function Correction({ d, reloading }: { d: ArchiveDocument; reloading: boolean }) {
  const { t } = useI18n();
  const queries = useQueryClient();
  // The document the open form started from (null: closed).
  const [basis, setBasis] = useState<ArchiveDocument | null>(null);
  const [form, setForm] = useState(() => formOf(d));
  const open = basis !== null;
  const start = () => {
    setBasis(d);
    setForm(formOf(d));
  };

  const save = useMutation({
    mutationFn: async (from: ArchiveDocument) => {
      // A merge patch of what changed (null removes a field), plus the reason.
      const patch: Record<string, unknown> = { reason: form.reason };
      const before = formOf(from);
      for (const f of EDITABLE) {
        if (form[f] === before[f]) continue;
        const v = form[f].trim();
        patch[f] = v === '' ? null : metadataValue(f, v);
      }
      const response = await apiFetch(`/documents/${encodeURIComponent(d.id)}/metadata`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"metadata-${from.metadataVersion}"` },
        body: JSON.stringify(patch),
      });
      return (await response.json()) as ArchiveDocument & { correction?: { version: number } };
    },
    onSuccess: (updated) => {
      queries.setQueryData(['document', d.id], updated);
      setBasis(updated);
      void queries.invalidateQueries({ queryKey: ['history', d.id] });
      void queries.invalidateQueries({ queryKey: ['audit', d.id] });
    },
  });
  const saveWait = useRetryWait(save.error);

  const problem = save.error instanceof ProblemError ? save.error.problem : null;
  const errors = fieldErrors(problem, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (basis) save.mutate(basis);
  };
  const field = (f: Editable | 'reason', control: 'input' | 'textarea' | 'kind' = 'input', type = 'text') => {
    const id = `c-${f}`;
    const err = errors[f];
    const common = { id, name: f, value: form[f], 'aria-invalid': err ? true : undefined, 'aria-describedby': err ? `${id}-error` : undefined };
    const change = (e: { target: { value: string } }) => setForm((old) => ({ ...old, [f]: e.target.value }));
    return (
      <div className={`field${f === 'reason' ? ' wide' : ''}`}>
        <label htmlFor={id}>{t.fields[f]}{f === 'reason' && <span aria-hidden="true"> *</span>}</label>
        {control === 'textarea' ? (
          <textarea {...common} onChange={change} rows={2} aria-required="true" />
        ) : control === 'kind' ? (
          <select {...common} onChange={change}>
            <option value="">—</option>
            {Object.entries(t.kinds).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        ) : (
          <input {...common} type={type} onChange={change} />
        )}
        <FieldError id={`${id}-error`} message={err} />
      </div>
    );
  };

  return (
    <section className="panel" aria-labelledby="h-correct">
      <h2 id="h-correct">{t.document.correct}</h2>
      {!open ? (
        <button type="button" className="secondary" onClick={start} disabled={reloading} aria-busy={reloading} aria-expanded="false" aria-controls="correction-form">{t.document.correct}</button>
      ) : (
        <form id="correction-form" onSubmit={submit} noValidate>
          <p className="muted">{t.document.correctIntro}</p>
          <div className="form-grid">
            {field('documentDate', 'input', 'date')}
            {field('kind', 'kind')}
            {field('counterparty')}
            {field('reference')}
            {field('amount')}
            {field('currency')}
            {field('tags')}
            {field('reason', 'textarea')}
          </div>
          {save.error ? <ProblemMessage error={save.error} ownedFields={[...EDITABLE, 'reason']} /> : null}
          <div className="form-actions">
            <button type="submit" disabled={save.isPending || saveWait > 0}>{save.isPending ? t.document.saving : t.document.save}</button>
            <button type="button" className="secondary" onClick={() => { setBasis(null); save.reset(); }}>{t.cancel}</button>
          </div>
          <p role="status" aria-live="polite" className="status-line">
            {save.isSuccess && (save.data.correction ? t.document.saved(save.data.correction.version) : t.document.nothingChanged)}
          </p>
        </form>
      )}
    </section>
  );
}

function History({ id }: { id: string }) {
  const { t, dateTime } = useI18n();
  const history = useQuery({ queryKey: ['history', id], queryFn: () => unwrap(api().GET('/documents/{id}/metadata/history', { params: { path: { id } } })) });
  const versions = (history.data?.versions ?? []).filter((v) => v.reason !== null);
  if (versions.length === 0) return null;
  return (
    <section className="panel" aria-labelledby="h-history">
      <h2 id="h-history">{t.document.corrections}</h2>
      <ul className="holds">
        {versions.map((v) => (
          <li key={v.version}>
            <strong>v{v.version}</strong> · {dateTime(v.at)} · {v.by.person ?? v.by.subject} — “{v.reason}”
            <br />
            <span className="muted">{v.changes.map((c) => t.fields[c.field] ?? c.field).join(', ')}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Audit entries of this document since it was archived: read 24 months at a time (the most the API reads per query), back to its archiving. */
function AuditTrail({ d }: { d: ArchiveDocument }) {
  const { t, dateTime } = useI18n();
  const audit = useInfiniteQuery({
    queryKey: ['audit', d.id, d.createdAt],
    initialPageParam: firstAuditParam(d.createdAt, new Date()),
    // A window without an entry for this document is passed over: an empty page would read "No audit entries yet".
    queryFn: async ({ pageParam }) => {
      let param: AuditTrailParam | undefined = pageParam;
      for (;;) {
        const { window, token } = param;
        const page = await unwrap(api().GET('/audit', { params: { query: { target: d.id, from: window.from, ...(window.to ? { to: window.to } : {}), limit: 100, continuationToken: token } } }));
        const next = nextAuditParam(page, param, d.createdAt, new Date());
        if (page.items.length > 0 || !next) return { items: page.items, next };
        param = next;
      }
    },
    getNextPageParam: (last) => last.next,
    retry: false,
  });
  const items = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const forbidden = audit.error instanceof ProblemError && audit.error.problem.status === 403;
  return (
    <section className="panel" aria-labelledby="h-audit">
      <h2 id="h-audit">{t.document.audit}</h2>
      {forbidden ? (
        <p className="muted">{t.document.auditNotAllowed}</p>
      ) : audit.error ? (
        <ProblemMessage error={audit.error} />
      ) : items.length === 0 ? (
        <p className="muted">{audit.isFetching ? t.loading : t.document.auditEmpty}</p>
      ) : (
        <DataTable columns={[t.document.auditWhen, t.document.auditWho, t.document.auditWhat, t.document.auditOutcome]}>
          {items.map((e) => (
            <tr key={e.id}>
              <td>{dateTime(e.at)}</td>
              <td>{e.actor.person ?? e.actor.subject}</td>
              <td>{t.auditActions[e.action] ?? e.action}</td>
              <td><span className={`badge ${e.outcome}`}>{t.auditOutcomes[e.outcome] ?? e.outcome}</span></td>
            </tr>
          ))}
        </DataTable>
      )}
      {audit.hasNextPage && (
        <button type="button" className="secondary" onClick={() => void audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>{t.document.auditMore}</button>
      )}
    </section>
  );
}
