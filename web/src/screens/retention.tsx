/**
 * The organisation's retention policy: its own retention classes (never below the legal minimum), the
 * default class, whether disposal needs an approval, and the month the fiscal year ends. A change that lowers a
 * safeguard is only proposed; the proposals wait below for a second person to approve, withdraw or reject them, and
 * the decided ones stay listed (who proposed, who decided, and why).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { paths } from '../../../cli/api/openapi-types';
import { api, changedMeanwhile, ProblemError, refusalOf, unwrap, unwrapVersioned } from '../api';
import { FormField } from '../components/FormField';
import { Pager } from '../components/Pager';
import { DecidedProposals } from '../components/DecidedProposals';
import { ProposalCard } from '../components/ProposalCard';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { retentionProposalChanges } from '../lib/retention-changes';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import type { ScreenProps } from '.';

interface PolicyClass {
  name: string;
  years: number;
  description?: string;
}
interface Policy {
  classes: PolicyClass[];
  defaultClass: string;
  requireDisposalApproval: boolean;
  fiscalYearEndMonth: number;
}
interface PolicyAnswer extends Policy {
  legalFloorYears: number;
  effectiveClasses: { name: string; years: number }[];
  updatedAt?: string;
  updatedBy?: { subject: string };
  /** The version shown (ETag): a save names it (If-Match). */
  etag: string | null;
}
/** A class row being edited: years as typed. */
type DraftClass = { name: string; years: string; description: string };

const MONTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

type Proposal = paths['/retention/policy/proposals']['get']['responses'][200]['content']['application/json']['items'][number];
const PENDING_PAGE_SIZE = 50;
type ProposalState = NonNullable<NonNullable<paths['/retention/policy/proposals']['get']['parameters']['query']>['state']>;
const listProposals = (state: ProposalState, limit: number, continuationToken: string | undefined) => unwrap(api().GET('/retention/policy/proposals', { params: { query: { state, limit, continuationToken } } }));
const listPending = (continuationToken: string | undefined) => listProposals('pending', PENDING_PAGE_SIZE, continuationToken);
const monthIn = (locale: string) => (m: number) => new Intl.DateTimeFormat(locale === 'nl' ? 'nl-NL' : 'en-GB', { month: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2000, m - 1, 1)));

export function RetentionScreen(_: ScreenProps) {
  const { t, dateTime, locale } = useI18n();
  const queries = useQueryClient();
  const policy = useQuery({ queryKey: ['retention-policy'], queryFn: async () => (await unwrapVersioned(api().GET('/retention/policy'))) as unknown as PolicyAnswer });
  // `etag`: the version the edit started from, kept while the policy shown reloads: the save names it (If-Match).
  const [draft, setDraft] = useState<{ classes: DraftClass[]; defaultClass: string; requireDisposalApproval: boolean; fiscalYearEndMonth: number; etag: string | null } | null>(null);
  // 200: applied at once (it lowers nothing); 202: a lowering, stored as a proposal for a second person.
  const save = useMutation({
    mutationFn: async ({ body, etag }: { body: Policy; etag: string | null }): Promise<{ applied: PolicyAnswer } | { proposed: Proposal }> => {
      const { data, error, response } = await api().PUT('/retention/policy', { body: body as never, headers: { 'If-Match': etag ?? '' } });
      if (!response.ok || data === undefined) throw await refusalOf(response, error);
      return response.status === 202 ? { proposed: data as unknown as Proposal } : { applied: { ...(data as unknown as PolicyAnswer), etag: response.headers.get('ETag') } };
    },
    onSuccess: (outcome) => {
      if ('applied' in outcome) queries.setQueryData(['retention-policy'], outcome.applied);
      setDraft(null);
      void queries.invalidateQueries({ queryKey: ['retention-policy-proposals'] });
    },
    // Someone saved the policy after this edit started: nothing was stored. Show theirs, never write over it.
    onError: (err) => {
      if (!changedMeanwhile(err)) return;
      setDraft(null);
      void queries.invalidateQueries({ queryKey: ['retention-policy'] });
    },
  });
  const saveWait = useRetryWait(save.error);

  if (policy.error) {
    return (
      <>
        <h1 tabIndex={-1}>{t.retention.title}</h1>
        <ProblemMessage error={policy.error} />
      </>
    );
  }
  if (!policy.data) return <p role="status">{t.loading}</p>;
  const p = policy.data;
  const current = draft ?? {
    classes: p.classes.map((c) => ({ name: c.name, years: String(c.years), description: c.description ?? '' })),
    defaultClass: p.defaultClass,
    requireDisposalApproval: p.requireDisposalApproval,
    fiscalYearEndMonth: p.fiscalYearEndMonth,
    etag: p.etag,
  };
  const errors = fieldErrors(save.error instanceof ProblemError ? save.error.problem : null, t);
  const monthName = monthIn(locale);
  const proposed = save.data !== undefined && 'proposed' in save.data && !draft;
  const setClass = (i: number, change: Partial<DraftClass>) => setDraft({ ...current, classes: current.classes.map((c, j) => (j === i ? { ...c, ...change } : c)) });
  // The classes the default may name: the built-in ones and the rows as typed.
  const classNames = [...new Set([...p.effectiveClasses.filter((c) => !p.classes.some((o) => o.name === c.name)).map((c) => c.name), ...current.classes.map((c) => c.name.trim()).filter(Boolean)])];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({
      body: {
        classes: current.classes.map((c) => ({ name: c.name.trim(), years: Number(c.years), ...(c.description.trim() ? { description: c.description.trim() } : {}) })),
        defaultClass: current.defaultClass,
        requireDisposalApproval: current.requireDisposalApproval,
        fiscalYearEndMonth: current.fiscalYearEndMonth,
      },
      etag: current.etag,
    });
  };

  return (
    <>
      <h1 tabIndex={-1}>{t.retention.title}</h1>
      <p className="muted lead">{t.retention.intro(p.legalFloorYears)}</p>
      <section className="panel" aria-labelledby="h-effective">
        <h2 id="h-effective">{t.retention.effective}</h2>
        <ul className="tags">
          {p.effectiveClasses.map((c) => (
            <li key={c.name}>
              <code>{c.name}</code> — {t.retention.years(c.years)}{c.name === p.defaultClass ? ` (${t.retention.isDefault})` : ''}
            </li>
          ))}
        </ul>
        {p.updatedAt && <p className="muted small">{t.retention.lastChanged(dateTime(p.updatedAt), p.updatedBy?.subject ?? '')}</p>}
      </section>

      <form className="panel" aria-labelledby="h-policy" onSubmit={submit} noValidate>
        <h2 id="h-policy">{t.retention.policy}</h2>
        <h3>{t.retention.ownClasses}</h3>
        {current.classes.length === 0 && <p className="muted">{t.retention.noOwnClasses}</p>}
        {current.classes.map((c, i) => {
          const err = (f: string) => errors[`classes.${i}.${f}`];
          return (
            <fieldset key={i} className="class-row">
              <legend className="visually-hidden">{t.retention.classN(i + 1)}</legend>
              <FormField id={`c-${i}-name`} label={t.retention.className} error={err('name')}>
                <input value={c.name} onChange={(e) => setClass(i, { name: e.target.value })} />
              </FormField>
              <FormField id={`c-${i}-years`} label={t.retention.classYears} error={err('years')}>
                <input inputMode="numeric" size={4} value={c.years} onChange={(e) => setClass(i, { years: e.target.value })} />
              </FormField>
              <FormField id={`c-${i}-description`} className="grow" label={t.retention.classDescription} error={err('description')}>
                <input value={c.description} maxLength={300} onChange={(e) => setClass(i, { description: e.target.value })} />
              </FormField>
              <button type="button" className="secondary" onClick={() => setDraft({ ...current, classes: current.classes.filter((_, j) => j !== i) })} aria-label={t.retention.removeClass(c.name || String(i + 1))}>{t.rights.remove}</button>
            </fieldset>
          );
        })}
        <p>
          <button type="button" className="secondary" onClick={() => setDraft({ ...current, classes: [...current.classes, { name: '', years: String(p.legalFloorYears), description: '' }] })}>{t.retention.addClass}</button>
        </p>
        <div className="form-grid">
          <FormField id="p-default" label={t.retention.defaultClass}>
            <select value={current.defaultClass} onChange={(e) => setDraft({ ...current, defaultClass: e.target.value })}>
              {classNames.map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
          </FormField>
          <FormField id="p-fy" label={t.retention.fiscalYearEnd}>
            <select value={current.fiscalYearEndMonth} onChange={(e) => setDraft({ ...current, fiscalYearEndMonth: Number(e.target.value) })}>
              {MONTHS.map((m) => <option key={m} value={m}>{monthName(m)}</option>)}
            </select>
          </FormField>
        </div>
        <label className="check">
          <input type="checkbox" checked={current.requireDisposalApproval} onChange={(e) => setDraft({ ...current, requireDisposalApproval: e.target.checked })} />
          {t.retention.requireApproval}
        </label>
        {changedMeanwhile(save.error) ? <div className="problem" role="alert"><p><strong>{t.retention.changedMeanwhile}</strong></p></div>
          : save.error ? <ProblemMessage error={save.error} ownedFields={current.classes.flatMap((_, i) => [`classes.${i}.name`, `classes.${i}.years`, `classes.${i}.description`])} /> : null}
        <div className="form-actions spaced">
          <button type="submit" disabled={!draft || save.isPending || saveWait > 0}>{t.retention.save}</button>
          {draft && <button type="button" className="secondary" onClick={() => { setDraft(null); save.reset(); }}>{t.sod.undo}</button>}
        </div>
        <p role="status" aria-live="polite" className={`status-line${proposed ? ' notice' : ''}`}>{proposed ? t.retention.proposed : save.isSuccess && !draft ? t.retention.saved : draft ? t.sod.unsaved : ''}</p>
      </form>
      {/* Once a proposal is decided, the "proposed" note above is old news. */}
      <RetentionProposals onDecided={() => save.reset()} />
    </>
  );
}

function RetentionProposals({ onDecided }: { onDecided: () => void }) {
  const { t, locale } = useI18n();
  const queries = useQueryClient();
  // Paged by the API: a tenant's proposals pile up.
  const { pages, list } = usePagedQuery('pending', ['retention-policy-proposals', 'pending'], listPending);
  const [outcome, setOutcome] = useState('');
  const pending = list.data?.items ?? [];
  const after = (sentence: string) => {
    setOutcome(sentence);
    onDecided();
    void queries.invalidateQueries({ queryKey: ['retention-policy-proposals'] });
    void queries.invalidateQueries({ queryKey: ['retention-policy'] });
  };
  return (
    <section className="panel" aria-labelledby="h-retention-proposals">
      <h2 id="h-retention-proposals">{t.retention.proposals}</h2>
      <p className="muted">{t.retention.proposalsIntro}</p>
      {list.error ? <ProblemMessage error={list.error} /> : null}
      <p role="status" aria-live="polite" className={`status-line${outcome ? ' notice' : ''}`}>{outcome}</p>
      {list.data && pending.length === 0 && <p className="muted">{wholeList(pages.page, list.data) ? t.retention.noProposals : t.pageEmpty}</p>}
      {pending.map((p, i) => (
        <ProposalCard
          key={p.id}
          proposal={p}
          n={pages.page * PENDING_PAGE_SIZE + i + 1}
          changes={retentionProposalChanges(p, t, monthIn(locale))}
          approve={(reason) => unwrap(api().POST('/retention/policy/proposals/{id}/approve', { params: { path: { id: p.id } }, body: { reason } }))}
          close={() => unwrap(api().DELETE('/retention/policy/proposals/{id}', { params: { path: { id: p.id } } }))}
          after={after}
          texts={{ approved: t.retention.approved, withdrawn: t.retention.withdrawn, rejected: t.retention.rejected, closeText: t.retention.closeText }}
        />
      ))}
      <Pager label={t.retention.pendingPages} pages={pages} list={list} />
      <DecidedProposals idPrefix="retention" queryKey="retention-policy-proposals" list={listProposals} changes={(p) => retentionProposalChanges(p, t, monthIn(locale))} />
    </section>
  );
}
