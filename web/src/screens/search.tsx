/** Search the organisation's documents: filters as they type, a sortable table, paged by continuation token. */
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable, type SortingState } from '@tanstack/react-table';
import { useEffect, useMemo, useState, type InputHTMLAttributes } from 'react';
import { DOCUMENT_KINDS } from '../../../shared/kernel/document-kinds';
import { api, ProblemError, unwrap, type ArchiveDocument, type DocumentQuery } from '../api';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { Pager } from '../components/Pager';
import { useI18n } from '../i18n';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { typedNumber } from '../lib/typed-number';
import { useDebounced } from '../lib/useDebounced';
import { Link, navigate, useLocation } from '../router';
import type { ScreenProps } from '.';

const FILTERS = ['fiscalYear', 'from', 'to', 'kind', 'counterparty', 'reference', 'amountMin', 'amountMax', 'currency', 'tags', 'correctedSince'] as const;
type Filter = (typeof FILTERS)[number];
type Filters = Record<Filter, string>;
const SORTABLE = new Set(['documentDate', 'amount', 'createdAt']);
const PAGE_SIZE = 25;

/**
 * The filters of an address (a shared link). A kind or a date the form cannot show is left out: sent, it
 * would be a search the API refuses, with a field error beside a field that shows nothing wrong.
 */
function filtersFrom(search: URLSearchParams): Filters {
  const f = Object.fromEntries(FILTERS.map((name) => [name, search.get(name) ?? ''])) as Filters;
  if (!(DOCUMENT_KINDS as readonly string[]).includes(f.kind)) f.kind = '';
  for (const d of ['from', 'to'] as const) if (!/^\d{4}-\d{2}-\d{2}$/.test(f[d])) f[d] = '';
  return f;
}

function toQuery(f: Filters): DocumentQuery {
  const q: DocumentQuery = {};
  // A number as typed (`12,50` too, see typedNumber). One that is not a number, or is ambiguous ("1.000"), is sent as
  // typed, for the API to refuse beside its field: left out, the list shown was the search without it ("1.234,56"
  // from: every amount), as though it matched.
  const num = (s: string) => (s.trim() === '' ? undefined : (typedNumber(s) as number));
  if (num(f.fiscalYear) !== undefined) q.fiscalYear = num(f.fiscalYear);
  if (f.from) q.from = f.from;
  if (f.to) q.to = f.to;
  if (f.kind) q.kind = f.kind as DocumentQuery['kind'];
  if (f.counterparty.trim()) q.counterparty = f.counterparty.trim();
  if (f.reference.trim()) q.reference = f.reference.trim();
  if (num(f.amountMin) !== undefined) q.amountMin = num(f.amountMin);
  if (num(f.amountMax) !== undefined) q.amountMax = num(f.amountMax);
  if (/^[A-Za-z]{3}$/.test(f.currency.trim())) q.currency = f.currency.trim().toUpperCase();
  if (f.tags.trim()) q.tags = f.tags.split(',').map((s) => s.trim()).filter(Boolean).join(',');
  // A date or an instant, as typed or linked (an export's time, from the exports screen); the API says what is wrong with any other.
  if (f.correctedSince.trim()) q.correctedSince = f.correctedSince.trim();
  return q;
}

const column = createColumnHelper<ArchiveDocument>();

export function SearchScreen(_: ScreenProps) {
  const { t, money, date, dateTime } = useI18n();
  const { search } = useLocation();
  const [filters, setFilters] = useState<Filters>(() => filtersFrom(search));
  const settled = useDebounced(filters, 300);
  // A sort from the address (a shared link) only when the API offers it: any other would be a refused search.
  const [sorting, setSorting] = useState<SortingState>(() => {
    const id = search.get('sort');
    return [{ id: id && SORTABLE.has(id) ? id : 'createdAt', desc: search.get('order') !== 'asc' }];
  });
  const query = useMemo(() => toQuery(settled), [settled]);
  const sort = sorting[0] ?? { id: 'createdAt', desc: true };
  // A new search or sort is page 1 in the same render: the API refuses a token of another query.
  const { pages, list: result } = usePagedQuery(JSON.stringify([query, sort.id, sort.desc]), ['documents', query, sort.id, sort.desc], (token) =>
    unwrap(api().GET('/documents', { params: { query: { ...query, sort: sort.id as DocumentQuery['sort'], order: sort.desc ? 'desc' : 'asc', limit: PAGE_SIZE, continuationToken: token } } })),
  );
  const { page } = pages;

  // Keep the search in the address, so Back from a document returns to it.
  useEffect(() => {
    const params = new URLSearchParams();
    for (const f of FILTERS) if (settled[f]) params.set(f, settled[f]);
    if (sort.id !== 'createdAt' || !sort.desc) {
      params.set('sort', sort.id);
      params.set('order', sort.desc ? 'desc' : 'asc');
    }
    const qs = params.toString();
    navigate(qs ? `/?${qs}` : '/', { replace: true });
  }, [settled, sort.id, sort.desc]);

  const columns = useMemo(
    () => [
      column.accessor((d) => d.metadata.reference ?? '', {
        id: 'reference',
        header: t.fields.reference!,
        enableSorting: false,
        cell: (c) => (
          <Link href={`/documents/${encodeURIComponent(c.row.original.id)}`}>
            {c.getValue() || <span className="muted">{t.document.untitled}</span>}
          </Link>
        ),
      }),
      column.accessor((d) => d.metadata.documentDate ?? '', { id: 'documentDate', header: t.fields.documentDate!, cell: (c) => (c.getValue() ? date(c.getValue()) : '') }),
      column.accessor((d) => d.metadata.kind ?? '', { id: 'kind', header: t.fields.kind!, enableSorting: false, cell: (c) => t.kinds[c.getValue()] ?? '' }),
      column.accessor((d) => d.metadata.counterparty ?? '', { id: 'counterparty', header: t.fields.counterparty!, enableSorting: false }),
      column.accessor((d) => d.metadata.amount, {
        id: 'amount',
        header: t.fields.amount!,
        meta: { numeric: true },
        cell: (c) => {
          const m = c.row.original.metadata;
          return m.amount !== undefined && m.currency ? money(m.amount, m.currency) : '';
        },
      }),
      column.accessor('fiscalYear', { header: t.fields.fiscalYear!, enableSorting: false }),
      column.accessor('createdAt', { header: t.fields.createdAt!, cell: (c) => dateTime(c.getValue()) }),
    ],
    [t, money, date, dateTime],
  );

  const table = useReactTable({
    data: result.data?.items ?? [],
    columns,
    state: { sorting },
    manualSorting: true,
    enableSortingRemoval: false,
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
  });

  const set = (f: Filter) => (e: { target: { value: string } }) => setFilters((old) => ({ ...old, [f]: e.target.value }));
  const errors = fieldErrors(result.error instanceof ProblemError ? result.error.problem : null, t);
  const items = result.data?.items ?? [];
  // The rows of the previous search or page stay up while the next loads; their token is not this page's
  // (sent, the API refuses it as another query's, or it fetches the same page again).
  const more = Boolean(result.data?.continuationToken) && !result.isPlaceholderData;

  const input = (f: Filter, label: string, props: InputHTMLAttributes<HTMLInputElement> = {}) => (
    <FormField id={`f-${f}`} label={label} error={errors[f]}>
      <input name={f} value={filters[f]} onChange={set(f)} {...props} />
    </FormField>
  );

  return (
    <>
      <h1 tabIndex={-1}>{t.search.title}</h1>
      <form className="filters" role="search" aria-label={t.search.filters} onSubmit={(e) => e.preventDefault()}>
        {input('counterparty', t.search.counterparty, { type: 'search', autoComplete: 'off' })}
        {input('reference', t.search.reference, { type: 'search', autoComplete: 'off' })}
        {input('fiscalYear', t.search.fiscalYear, { inputMode: 'numeric', pattern: '[0-9]{4}', size: 6 })}
        <FormField id="f-kind" label={t.search.kind}>
          <select value={filters.kind} onChange={set('kind')}>
            <option value="">{t.search.anyKind}</option>
            {DOCUMENT_KINDS.map((k) => (
              <option key={k} value={k}>{t.kinds[k]}</option>
            ))}
          </select>
        </FormField>
        {input('from', t.search.from, { type: 'date' })}
        {input('to', t.search.to, { type: 'date' })}
        {input('amountMin', t.search.amountMin, { inputMode: 'decimal' })}
        {input('amountMax', t.search.amountMax, { inputMode: 'decimal' })}
        {input('currency', t.search.currency, { maxLength: 3, size: 4, autoCapitalize: 'characters' })}
        <FormField id="f-correctedSince" label={t.search.correctedSince} hint={t.search.correctedSinceHint} error={errors.correctedSince}>
          <input name="correctedSince" value={filters.correctedSince} onChange={set('correctedSince')} autoComplete="off" spellCheck={false} />
        </FormField>
        <FormField id="f-tags" label={t.search.tags} hint={t.search.tagsHint}>
          <input value={filters.tags} onChange={set('tags')} />
        </FormField>
        <div className="field actions">
          <button type="button" className="secondary" onClick={() => setFilters(filtersFrom(new URLSearchParams()))}>{t.search.clear}</button>
        </div>
      </form>

      {result.error ? <ProblemMessage error={result.error} ownedFields={[...FILTERS]} /> : null}
      <p role="status" aria-live="polite" className="status-line">
        {result.isFetching ? t.loading : result.data ? (items.length === 0 && !wholeList(page, result.data) ? t.pageEmpty : t.search.results(items.length, more)) : ''}
      </p>

      <div className="table-wrap">
        <table className="data">
          <caption className="visually-hidden">{t.search.caption}</caption>
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const sorted = header.column.getIsSorted();
                  const label = flexRender(header.column.columnDef.header, header.getContext());
                  const numeric = header.column.columnDef.meta?.numeric;
                  return (
                    <th key={header.id} scope="col" className={numeric ? 'num' : undefined} aria-sort={sorted ? (sorted === 'asc' ? 'ascending' : 'descending') : undefined}>
                      {SORTABLE.has(header.column.id) ? (
                        <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                          {label}
                          <span aria-hidden="true" className="sort-mark">{sorted === 'asc' ? '▲' : sorted === 'desc' ? '▼' : '↕'}</span>
                        </button>
                      ) : (
                        label
                      )}
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {table.getRowModel().rows.map((row) => (
              <tr key={row.id}>
                {row.getVisibleCells().map((cell) => {
                  const numeric = cell.column.columnDef.meta?.numeric;
                  return (
                    <td key={cell.id} className={numeric ? 'num' : undefined}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <Pager label={t.search.page(page + 1)} pages={pages} list={result} always />
    </>
  );
}
