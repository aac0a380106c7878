/**
 * The auditor's screen: the organisation's audit log with filters (who, what, target, period) in a paged
 * table, and "verify this month": the hash chain recomputed by the archive, its answer said plainly.
 */
import { useMutation } from '@tanstack/react-query';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useMemo, useState, type FormEvent } from 'react';
import type { paths } from '../../../cli/api/openapi-types';
import { api, ProblemError, unwrap, type AuditEntry } from '../api';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { Pager } from '../components/Pager';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import type { Dictionary } from '../i18n/en';
import { usePagedQuery } from '../lib/paged-query';
import { useDebounced } from '../lib/useDebounced';
import { Link, useLocation } from '../router';
import type { ScreenProps } from '.';

type Action = AuditEntry['action'];
type AuditQuery = NonNullable<paths['/audit']['get']['parameters']['query']>;
// Every action the archive records, once: the compiler fails here when the API gains one.
const ACTIONS = Object.keys({
  'document.ingest': 0, 'document.correct-metadata': 0, 'document.metadata-history': 0, 'document.read': 0, 'document.list': 0,
  'document.download-original': 0, 'document.download-rendition': 0, 'document.validate-rendition': 0, 'document.download-validation': 0,
  'audit.read': 0, 'audit.verify': 0, 'catalog.rebuild': 0,
  'export.create': 0, 'export.read': 0, 'export.list': 0, 'export.download': 0, 'export.completed': 0, 'export.failed': 0, 'export.expired': 0, 'export.withdrawn': 0,
  'api-key.create': 0, 'api-key.list': 0, 'api-key.revoke': 0,
  'rights-set.list': 0, 'rights-set.put': 0, 'rights-set.delete': 0, 'rights-assignment.list': 0, 'rights-assignment.put': 0, 'rights-assignment.delete': 0, 'person.sighting-restored': 0,
  'sod-policy.read': 0, 'sod-policy.put': 0, 'sod-policy.proposal-list': 0, 'sod-policy.proposal-read': 0, 'sod-policy.proposal-approve': 0, 'sod-policy.proposal-withdraw': 0, 'support-grant.create': 0, 'support-grant.list': 0, 'support-grant.revoke': 0,
  'retention.policy-read': 0, 'retention.policy-set': 0, 'retention.policy-propose': 0, 'retention.policy-proposal-list': 0, 'retention.policy-proposal-read': 0, 'retention.policy-proposal-approve': 0, 'retention.policy-proposal-withdraw': 0, 'retention.extend': 0, 'retention.due-list': 0, 'retention.approve': 0,
  'legal-hold.place': 0, 'legal-hold.place-by-query': 0, 'legal-hold.release': 0, 'legal-hold.list': 0, 'legal-hold.resync': 0,
  'document.dispose': 0, 'document.fixity-failed': 0, 'document.reindex': 0, 'document.blobs-missing': 0, 'document.blobs-orphaned': 0, 'document.blobs-orphan-resolved': 0,
  'access.refusals-suppressed': 0,
} satisfies Record<Action, 0>) as Action[];

const PAGE_SIZE = 50;
const thisMonth = () => new Date().toISOString().slice(0, 7);

interface Filters {
  actor: string;
  action: string;
  target: string;
  from: string;
  to: string;
}
const EMPTY: Filters = { actor: '', action: '', target: '', from: '', to: '' };

export function actionName(action: string, t: Dictionary): string {
  return t.auditActions[action] ?? action;
}

const column = createColumnHelper<AuditEntry>();

export function AuditScreen(_: ScreenProps) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t.audit.title}</h1>
      <VerifyMonth />
      <AuditLog />
    </>
  );
}

function AuditLog() {
  const { t, dateTime } = useI18n();
  // Who and what from the address: a link from elsewhere (an API key's "Audit log") opens the log filtered.
  const { search } = useLocation();
  const [filters, setFilters] = useState<Filters>(() => ({ ...EMPTY, actor: search.get('actor') ?? '', target: search.get('target') ?? '' }));
  const settled = useDebounced(filters, 300);

  const query = useMemo(() => {
    const q: AuditQuery = { limit: PAGE_SIZE };
    if (settled.actor.trim()) q.actor = settled.actor.trim();
    if (settled.action) q.action = settled.action as Action;
    if (settled.target.trim()) q.target = settled.target.trim();
    if (settled.from) q.from = settled.from;
    if (settled.to) q.to = settled.to;
    return q;
  }, [settled]);

  // A new filter starts at page 1.
  const { pages, list: result } = usePagedQuery(JSON.stringify(settled), ['audit', query], (token) => unwrap(api().GET('/audit', { params: { query: { ...query, continuationToken: token } } })));

  const columns = useMemo(
    () => [
      column.accessor('at', { header: t.audit.when, cell: (c) => <span className="nowrap">{dateTime(c.getValue())}</span> }),
      column.accessor((e) => e.actor.subject, {
        id: 'actor',
        header: t.audit.who,
        cell: (c) => {
          const a = c.row.original.actor;
          return (
            <>
              {a.subject}
              <span className="muted small"> · {t.audit.actorKinds[a.kind] ?? a.kind}{a.person && a.person !== a.subject ? ` ${t.audit.forPerson(a.person)}` : ''}</span>
            </>
          );
        },
      }),
      column.accessor('action', { header: t.audit.what, cell: (c) => actionName(c.getValue(), t) }),
      column.accessor('target', { header: t.audit.target, cell: (c) => <Target value={c.getValue()} /> }),
      column.accessor('outcome', {
        header: t.audit.outcome,
        cell: (c) => (
          <>
            <span className={`badge ${c.getValue()}`}>{t.auditOutcomes[c.getValue()] ?? c.getValue()}</span>
            <span className="muted small"> {c.row.original.status}</span>
          </>
        ),
      }),
      column.accessor('seq', { header: t.audit.seq, meta: { numeric: true } }),
    ],
    [t, dateTime],
  );
  const table = useReactTable({ data: result.data?.items ?? [], columns, getCoreRowModel: getCoreRowModel() });

  const problem = result.error instanceof ProblemError ? result.error.problem : null;
  const errors = fieldErrors(problem, t);
  const set = (f: keyof Filters) => (e: { target: { value: string } }) => setFilters((old) => ({ ...old, [f]: e.target.value }));
  const text = (f: 'actor' | 'target' | 'from' | 'to', label: string, type = 'search', hint?: string) => (
    <FormField id={`a-${f}`} label={label} hint={hint} error={errors[f]}>
      <input type={type} value={filters[f]} onChange={set(f)} autoComplete="off" />
    </FormField>
  );

  return (
    <section className="panel" aria-labelledby="h-log">
      <h2 id="h-log">{t.audit.log}</h2>
      <form className="filters inset" role="search" aria-label={t.audit.filters} onSubmit={(e) => e.preventDefault()}>
        {text('actor', t.audit.who, 'search', t.audit.whoHint)}
        <FormField id="a-action" label={t.audit.what}>
          <select value={filters.action} onChange={set('action')}>
            <option value="">{t.audit.anyAction}</option>
            {ACTIONS.map((a) => (
              <option key={a} value={a}>{actionName(a, t)}</option>
            ))}
          </select>
        </FormField>
        {text('target', t.audit.target, 'search', t.audit.targetHint)}
        {text('from', t.audit.from, 'date')}
        {text('to', t.audit.to, 'date')}
        <div className="field actions">
          <button type="button" className="secondary" onClick={() => setFilters(EMPTY)}>{t.search.clear}</button>
        </div>
      </form>
      <p className="hint">{t.audit.periodHint}</p>
      {result.error ? <ProblemMessage error={result.error} ownedFields={['actor', 'target', 'from', 'to']} /> : null}
      <p role="status" aria-live="polite" className="status-line">
        {result.isFetching ? t.loading : result.data ? t.audit.results(result.data.items.length, result.data.month) : ''}
      </p>
      <div className="table-wrap">
        <table className="data">
          <caption className="visually-hidden">{t.audit.caption}</caption>
          <thead>
            {table.getHeaderGroups().map((g) => (
              <tr key={g.id}>
                {g.headers.map((h) => (
                  <th key={h.id} scope="col" className={h.column.columnDef.meta?.numeric ? 'num' : undefined}>{flexRender(h.column.columnDef.header, h.getContext())}</th>
                ))}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id}>
                {row.getVisibleCells().map((cell) => (
                  <td key={cell.id} className={cell.column.columnDef.meta?.numeric ? 'num' : undefined}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager label={t.audit.pages} pages={pages} list={result} always />
    </section>
  );
}

/** A document target links to the document; other targets (api-key:…, subject:…) are shown as they are. */
function Target({ value }: { value: string | null }) {
  if (!value) return <span className="muted">—</span>;
  if (/^[0-9A-Za-z-]{20,64}$/.test(value)) return <Link href={`/documents/${encodeURIComponent(value)}`}><code>{value}</code></Link>;
  return <code className="wrap">{value}</code>;
}

/** What GET /audit/verify reports as wrong (shared/kernel/audit-chain.ts ChainProblem), read defensively. */
type ChainProblem =
  | { kind: 'changed'; seq: number; id: string; detail: string }
  | { kind: 'missing'; seq: number }
  | { kind: 'inserted'; id: string }
  | { kind: 'broken-link'; seq: number; id: string }
  | { kind: 'unkeyed'; seq: number; id: string }
  | { kind: 'older-key'; seq: number; id: string; keyVersion: string | null }
  | { kind: 'key-unavailable'; seq: number; id: string; keyVersion: string | null }
  | { kind: 'truncated'; chainEnd: number; expectedSeq: number; claimedBy: string[] }
  | { kind: 'unreadable-seal'; blob: string }
  | { kind: 'unjudged-seals'; unread: number; moreListed: boolean };

function problemLine(p: ChainProblem, t: Dictionary): string {
  switch (p.kind) {
    case 'changed': return t.audit.chain.changed(p.seq);
    case 'missing': return t.audit.chain.missing(p.seq);
    case 'inserted': return t.audit.chain.inserted(p.id);
    case 'broken-link': return t.audit.chain.brokenLink(p.seq);
    case 'unkeyed': return t.audit.chain.unkeyed(p.seq);
    case 'older-key': return t.audit.chain.olderKey(p.seq);
    case 'key-unavailable': return t.audit.chain.keyUnavailable(p.seq, p.keyVersion);
    case 'truncated': return t.audit.chain.truncated(p.chainEnd, p.expectedSeq);
    case 'unreadable-seal': return t.audit.chain.unreadableSeal(p.blob);
    case 'unjudged-seals': return t.audit.chain.unjudgedSeals(p.unread, p.moreListed);
    default: return JSON.stringify(p);
  }
}

function VerifyMonth() {
  const { t, locale } = useI18n();
  // "December 2026" rather than 2026-12, in the reader's language.
  const monthName = (m: string) => new Intl.DateTimeFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${m}-01T00:00:00Z`));
  const [month, setMonth] = useState(thisMonth);
  const verify = useMutation({ mutationFn: (m: string) => unwrap(api().GET('/audit/verify', { params: { query: { month: m } } })) });
  const verifyWait = useRetryWait(verify.error);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    verify.mutate(month);
  };
  const report = verify.data;
  const problems = (report?.problems ?? []) as ChainProblem[];
  // Only the first problems are listed (a badly damaged month has millions): the report counts them all.
  const counts = (kind: ChainProblem['kind']) => report?.problemCounts[kind] ?? problems.filter((p) => p.kind === kind).length;
  const problem = verify.error instanceof ProblemError ? verify.error.problem : null;
  const errors = fieldErrors(problem, t);
  return (
    <section className="panel" aria-labelledby="h-verify">
      <h2 id="h-verify">{t.audit.verifyTitle}</h2>
      <p className="muted">{t.audit.verifyIntro}</p>
      <form onSubmit={submit} className="inline-form" noValidate>
        <FormField id="v-month" label={t.audit.month} error={errors.month}>
          <input type="month" value={month} onChange={(e) => setMonth(e.target.value)} max={thisMonth()} />
        </FormField>
        <button type="submit" disabled={verify.isPending || verifyWait > 0 || !/^\d{4}-\d{2}$/.test(month)} aria-busy={verify.isPending}>
          {month === thisMonth() ? t.audit.verifyThisMonth : t.audit.verifyMonth}
        </button>
      </form>
      <div role="status" aria-live="polite" className="verify-result">
        {verify.isPending && <p>{t.audit.verifying}</p>}
        {report && report.ok && (
          <p className="outcome ok">
            <span aria-hidden="true">✓ </span>
            {t.audit.ok(monthName(report.month), report.entries, report.sealedSeq)}
          </p>
        )}
        {report && !report.ok && (
          <div className="outcome bad">
            <p>
              <strong><span aria-hidden="true">✗ </span>{t.audit.notOk(monthName(report.month))}</strong>
            </p>
            <p>{t.audit.summary(counts('changed') + counts('broken-link') + counts('unkeyed') + counts('older-key') + counts('unreadable-seal'), counts('missing') + (counts('truncated') > 0 ? 1 : 0), counts('inserted'))}</p>
            <ul>
              {problems.map((p, i) => (
                <li key={i}>{problemLine(p, t)}</li>
              ))}
            </ul>
            {report.problemsTruncated && <p>{t.audit.problemsTruncated(problems.length)}</p>}
          </div>
        )}
      </div>
      {verify.error ? <ProblemMessage error={verify.error} ownedFields={['month']} /> : null}
    </section>
  );
}
