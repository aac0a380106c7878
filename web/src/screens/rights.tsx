/**
 * Who may do what: the organisation's rights sets (built-in ones read-only), who holds which, and the
 * segregation-of-duties rules (permission pairs nobody may hold together), where a weakening is only
 * proposed and a second person approves it. Each refusal is shown as a sentence beside the form or row
 * that caused it.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { paths } from '../../../cli/api/openapi-types';
import { api, changedMeanwhile, ProblemError, refusalOf, unwrap, unwrapEmpty, unwrapVersioned } from '../api';
import { currentSession } from '../auth/session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormField } from '../components/FormField';
import { fieldErrors, permissionName, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { useRetryWait } from '../lib/useRetryWait';
import type { Dictionary } from '../i18n/en';
import { inWords, PERMISSIONS, type Permission } from '../lib/permissions';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';
import { Pager } from '../components/Pager';
import { DecidedProposals } from '../components/DecidedProposals';
import { ProposalCard, who } from '../components/ProposalCard';

type RightsSet = paths['/rights-sets']['get']['responses'][200]['content']['application/json']['items'][number];
type Assignment = paths['/rights-assignments']['get']['responses'][200]['content']['application/json']['items'][number];

export function RightsScreen(_: ScreenProps) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t.rights.title}</h1>
      <Assignments />
      <RightsSets />
      <SodPolicy />
    </>
  );
}


function Assignments() {
  const { t, dateTime } = useI18n();
  const queries = useQueryClient();
  const list = useQuery({ queryKey: ['rights-assignments'], queryFn: () => unwrap(api().GET('/rights-assignments')) });
  const sets = useQuery({ queryKey: ['rights-sets'], queryFn: () => unwrap(api().GET('/rights-sets')) });
  const [subject, setSubject] = useState('');
  // Sent only once the sets are listed: before that the choice was empty, and Assign gave this set to
  // someone without the admin having seen it.
  const [rightsSet, setRightsSet] = useState('accountant');
  const [removing, setRemoving] = useState<Assignment | null>(null);
  const [rowError, setRowError] = useState<{ subject: string; error: unknown } | null>(null);
  const refresh = () => void queries.invalidateQueries({ queryKey: ['rights-assignments'] });
  // An assignment replaces the set the person holds: the form says which before Assign, and the save names what it
  // replaces (If-Match) or that there was none (If-None-Match), so another admin's assignment made meanwhile is never
  // replaced unseen (412: the list shows it as it is now).
  const held = list.data?.items.find((a) => a.subject === subject.trim());
  const assign = useMutation({
    mutationFn: (replacing: Assignment | undefined) => unwrap(api().PUT('/rights-assignments/{subject}', {
      params: { path: { subject: subject.trim() } },
      body: { rightsSet },
      headers: replacing ? { 'If-Match': replacing.version } : { 'If-None-Match': '*' },
    })),
    onSuccess: () => {
      setSubject('');
      refresh();
    },
    onError: (err) => {
      if (changedMeanwhile(err)) refresh();
    },
  });
  const assignWait = useRetryWait(assign.error);
  const remove = useMutation({
    mutationFn: (s: string) => unwrapEmpty(api().DELETE('/rights-assignments/{subject}', { params: { path: { subject: s } } })),
    onSuccess: () => {
      setRemoving(null);
      refresh();
    },
    onError: (error, s) => {
      setRemoving(null);
      setRowError({ subject: s, error });
    },
  });
  const removeWait = useRetryWait(remove.error);
  const errors = fieldErrors(assign.error instanceof ProblemError ? assign.error.problem : null, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    assign.mutate(held);
  };
  return (
    <section className="panel" aria-labelledby="h-assign">
      <h2 id="h-assign">{t.rights.assignments}</h2>
      <p className="muted">{t.rights.assignmentsIntro}</p>
      <form onSubmit={submit} className="inline-form" noValidate>
        <FormField id="r-subject" className="grow" label={t.rights.subject} hint={t.rights.subjectHint} error={errors.subject}>
          <input value={subject} onChange={(e) => setSubject(e.target.value)} autoComplete="off" />
        </FormField>
        <FormField id="r-set" label={t.rights.rightsSet}>
          <select value={rightsSet} onChange={(e) => setRightsSet(e.target.value)} disabled={!sets.data}>
            {(sets.data?.items ?? []).map((s) => (
              <option key={s.name} value={s.name}>{inWords(s.name, t.rightsSets)}</option>
            ))}
          </select>
        </FormField>
        <button type="submit" disabled={!sets.data || !list.data || assign.isPending || assignWait > 0 || subject.trim() === ''}>{held ? t.rights.replace : t.rights.assign}</button>
      </form>
      {held ? <p className="muted" role="status">{t.rights.replaces(held.subject, inWords(held.rightsSet, t.rightsSets))}</p> : null}
      {changedMeanwhile(assign.error) ? <div className="problem" role="alert"><p><strong>{t.rights.assignedMeanwhile}</strong></p></div>
        : assign.error ? <ProblemMessage error={assign.error} ownedFields={['subject']} /> : null}
      {list.error ? <ProblemMessage error={list.error} /> : null}
      {list.data && list.data.items.length === 0 && <p className="muted">{t.rights.noAssignments}</p>}
      {list.data && list.data.items.length > 0 && (
        <DataTable caption={t.rights.assignments} columns={[t.rights.subject, t.rights.rightsSet, t.rights.assignedBy, { label: t.apiKeys.actions, visuallyHidden: true }]}>
          {list.data.items.map((a) => (
            <tr key={a.subject}>
              <th scope="row">{a.subject}{who(a.subject) === null && <span className="muted small"> ({t.you})</span>}</th>
              <td>{a.rightsSet}</td>
              <td>
                {who(a.assignedBy.subject) ?? t.you}<br /><span className="muted small">{dateTime(a.assignedAt)}</span>
                {a.endedWithKey && <><br /><span className="muted small">{t.rights.madeWithEndedKey(a.endedWithKey)}</span></>}
              </td>
              <td>
                <button type="button" className="secondary danger-outline" onClick={() => { setRowError(null); setRemoving(a); }} aria-label={t.rights.removeNamed(a.subject)}>{t.rights.remove}</button>
                {rowError?.subject === a.subject && <ProblemMessage error={rowError.error} />}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      <ConfirmDialog open={removing !== null} title={removing ? t.rights.removeTitle(removing.subject) : ''} confirmLabel={t.rights.remove} busy={remove.isPending} disabled={removeWait > 0} onConfirm={() => removing && remove.mutate(removing.subject)} onCancel={() => setRemoving(null)}>
        <p>{t.rights.removeText}</p>
      </ConfirmDialog>
    </section>
  );
}

function PermissionBoxes({ idPrefix, value, onChange, disabled }: { idPrefix: string; value: ReadonlySet<string>; onChange?: (next: Set<string>) => void; disabled?: boolean }) {
  const { t } = useI18n();
  return (
    <ul className="permission-grid">
      {PERMISSIONS.map((p) => (
        <li key={p}>
          <label className="check">
            <input
              type="checkbox"
              id={`${idPrefix}-${p}`}
              checked={value.has(p)}
              disabled={disabled}
              onChange={(e) => {
                const next = new Set(value);
                if (e.target.checked) next.add(p);
                else next.delete(p);
                onChange?.(next);
              }}
            />
            <span>{t.permissions[p]} <code className="small muted">{p}</code></span>
          </label>
        </li>
      ))}
    </ul>
  );
}

function RightsSets() {
  const { t } = useI18n();
  const queries = useQueryClient();
  const sets = useQuery({ queryKey: ['rights-sets'], queryFn: () => unwrap(api().GET('/rights-sets')) });
  // The set being edited; `name === ''` with `isNew` is a new one. `version`: the one the edit started from, which the
  // save names (If-Match), so that a change another person made meanwhile is refused (412), never written over; a new
  // set is saved only while no set of its name exists (If-None-Match: *).
  const [editing, setEditing] = useState<{ name: string; permissions: Set<string>; isNew: boolean; version?: string } | null>(null);
  const [deleting, setDeleting] = useState<RightsSet | null>(null);
  const [rowError, setRowError] = useState<{ name: string; error: unknown } | null>(null);
  const refresh = () => void queries.invalidateQueries({ queryKey: ['rights-sets'] });
  const save = useMutation({
    mutationFn: (s: { name: string; permissions: Set<string>; isNew: boolean; version?: string }) => unwrap(api().PUT('/rights-sets/{name}', {
      params: { path: { name: s.name.trim() } },
      body: { permissions: [...s.permissions] as Permission[] },
      headers: s.isNew ? { 'If-None-Match': '*' } : { 'If-Match': s.version ?? '*' },
    })),
    onSuccess: () => {
      setEditing(null);
      refresh();
    },
    // Someone changed or deleted the set after this edit started (or made a set of this new name): nothing changed.
    // An edit closes, so that nobody saves again over what they did not see; the list shows the set as it is now.
    onError: (err, s) => {
      if (!changedMeanwhile(err)) return;
      if (!s.isNew) setEditing(null);
      refresh();
    },
  });
  const saveWait = useRetryWait(save.error);
  const remove = useMutation({
    mutationFn: (name: string) => unwrapEmpty(api().DELETE('/rights-sets/{name}', { params: { path: { name } } })),
    onSuccess: () => {
      setDeleting(null);
      refresh();
    },
    onError: (error, name) => {
      setDeleting(null);
      setRowError({ name, error });
    },
  });
  const removeWait = useRetryWait(remove.error);
  const errors = fieldErrors(save.error instanceof ProblemError ? save.error.problem : null, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (editing) save.mutate(editing);
  };
  const mine = currentSession()?.person.rightsSet;
  return (
    <section className="panel" aria-labelledby="h-sets">
      <h2 id="h-sets">{t.rights.sets}</h2>
      <p className="muted">{t.rights.setsIntro}</p>
      {sets.error ? <ProblemMessage error={sets.error} /> : null}
      {sets.data && (
        <DataTable caption={t.rights.sets} columns={[t.rights.setName, t.rights.permissions, { label: t.apiKeys.actions, visuallyHidden: true }]}>
          {sets.data.items.map((s) => (
            <tr key={s.name}>
              <th scope="row">
                {Object.hasOwn(t.rightsSets, s.name) ? t.rightsSets[s.name] : s.name}
                <br />
                <code className="small muted">{s.name}</code>
                {s.builtIn && <span className="badge">{t.rights.builtIn}</span>}
                {s.name === mine && <span className="badge">{t.rights.yours}</span>}
              </th>
              <td>
                <ul className="tags">
                  {[...s.permissions].sort((x, y) => PERMISSIONS.indexOf(x) - PERMISSIONS.indexOf(y)).map((p) => (
                    <li key={p} title={p}>{t.permissions[p] ?? p}</li>
                  ))}
                </ul>
              </td>
              <td className="row-actions">
                {!s.builtIn && (
                  <>
                    <button type="button" className="secondary" onClick={() => { save.reset(); setEditing({ name: s.name, permissions: new Set(s.permissions), isNew: false, version: s.version }); }} aria-label={t.rights.editNamed(s.name)}>{t.rights.edit}</button>
                    <button type="button" className="secondary danger-outline" onClick={() => { setRowError(null); setDeleting(s); }} aria-label={t.rights.deleteNamed(s.name)}>{t.rights.delete}</button>
                  </>
                )}
                {rowError?.name === s.name && <ProblemMessage error={rowError.error} />}
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {changedMeanwhile(save.error) && <div className="problem" role="alert"><p><strong>{save.variables?.isNew ? t.rights.nameTaken : t.rights.changedMeanwhile}</strong></p></div>}
      {!editing && (
        <p>
          <button type="button" className="secondary" onClick={() => { save.reset(); setEditing({ name: '', permissions: new Set(['documents:read']), isNew: true }); }}>{t.rights.newSet}</button>
        </p>
      )}
      {editing && (
        <form onSubmit={submit} className="subpanel" noValidate aria-labelledby="h-edit-set">
          <h3 id="h-edit-set">{editing.isNew ? t.rights.newSet : t.rights.editTitle(editing.name)}</h3>
          {editing.isNew && (
            <FormField id="s-name" className="narrow" label={t.rights.setName} hint={t.rights.setNameHint} error={errors.name}>
              <input value={editing.name} onChange={(e) => setEditing({ ...editing, name: e.target.value })} pattern="[a-z0-9][a-z0-9-]{1,40}" />
            </FormField>
          )}
          <fieldset>
            <legend>{t.rights.permissions}</legend>
            <PermissionBoxes idPrefix="s-p" value={editing.permissions} onChange={(permissions) => setEditing({ ...editing, permissions })} />
          </fieldset>
          {save.error && !changedMeanwhile(save.error) ? <ProblemMessage error={save.error} ownedFields={['name']} /> : null}
          <div className="form-actions">
            <button type="submit" disabled={save.isPending || saveWait > 0 || !/^[a-z0-9][a-z0-9-]{1,40}$/.test(editing.name.trim())}>{t.rights.save}</button>
            <button type="button" className="secondary" onClick={() => setEditing(null)}>{t.cancel}</button>
          </div>
        </form>
      )}
      <ConfirmDialog open={deleting !== null} title={deleting ? t.rights.deleteTitle(deleting.name) : ''} confirmLabel={t.rights.delete} busy={remove.isPending} disabled={removeWait > 0} onConfirm={() => deleting && remove.mutate(deleting.name)} onCancel={() => setDeleting(null)}>
        <p>{t.rights.deleteText}</p>
      </ConfirmDialog>
    </section>
  );
}

type SodRules = { conflicts: [Permission, Permission][]; uploaderCannotApproveDisposal: boolean };
/** The rules being edited, with the version the edit started from (ETag): the save names it (If-Match). */
type SodDraft = SodRules & { etag: string | null };
/** A proposal as the list answers it (its pairs typed as plain arrays by the JSON client). */
type Proposal = Awaited<ReturnType<typeof listProposals>>['items'][number];
type ProposalState = NonNullable<NonNullable<paths['/sod-policy/proposals']['get']['parameters']['query']>['state']>;
const listProposals = (state: ProposalState, limit: number, continuationToken: string | undefined) => unwrap(api().GET('/sod-policy/proposals', { params: { query: { state, limit, continuationToken } } }));
const PENDING_PAGE_SIZE = 50;

const pairKey = ([a, b]: readonly string[]) => (a! < b! ? `${a}|${b}` : `${b}|${a}`);

function SodPolicy() {
  const { t, dateTime } = useI18n();
  const queries = useQueryClient();
  const policy = useQuery({ queryKey: ['sod-policy'], queryFn: () => unwrapVersioned(api().GET('/sod-policy')) });
  const [draft, setDraft] = useState<SodDraft | null>(null);
  const [a, setA] = useState<Permission>('documents:write');
  const [b, setB] = useState<Permission>('retention:approve');
  const current: SodDraft | null = draft ?? (policy.data ? { conflicts: policy.data.conflicts as [Permission, Permission][], uploaderCannotApproveDisposal: policy.data.uploaderCannotApproveDisposal, etag: policy.data.etag } : null);
  // 200: applied at once (it only strengthens); 202: a weakening, stored as a proposal for a second person.
  const save = useMutation({
    mutationFn: async ({ etag, ...rules }: SodDraft) => {
      const { data, error, response } = await api().PUT('/sod-policy', { body: rules, headers: { 'If-Match': etag ?? '' } });
      if (!response.ok || data === undefined) throw await refusalOf(response, error);
      return response.status === 202 ? { proposed: data as unknown as Proposal } : { applied: { ...data, etag: response.headers.get('ETag') } };
    },
    onSuccess: (outcome) => {
      setDraft(null);
      if ('applied' in outcome) queries.setQueryData(['sod-policy'], outcome.applied);
      void queries.invalidateQueries({ queryKey: ['sod-policy'] });
      void queries.invalidateQueries({ queryKey: ['sod-policy-proposals'] });
    },
    // Someone changed the rules after this edit started (a proposal approved, say): nothing changed. Show theirs.
    onError: (err) => {
      if (!changedMeanwhile(err)) return;
      setDraft(null);
      void queries.invalidateQueries({ queryKey: ['sod-policy'] });
    },
  });
  const saveWait = useRetryWait(save.error);
  if (policy.error) {
    return (
      <section className="panel" aria-labelledby="h-sod">
        <h2 id="h-sod">{t.sod.title}</h2>
        <ProblemMessage error={policy.error} />
      </section>
    );
  }
  if (!current) return null;
  const has = (x: string, y: string) => current.conflicts.some(([p, q]) => (p === x && q === y) || (p === y && q === x));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(current);
  };
  const status = draft ? t.sod.unsaved
    : save.data && 'proposed' in save.data ? t.sod.proposed
    : save.isSuccess ? t.sod.saved
    : policy.data?.updatedAt ? t.sod.lastChanged(dateTime(policy.data.updatedAt), policy.data.updatedBy?.subject ?? '') : '';
  return (
    <>
      <section className="panel" aria-labelledby="h-sod">
        <h2 id="h-sod">{t.sod.title}</h2>
        <p className="muted">{t.sod.intro}</p>
        <form onSubmit={submit} noValidate>
          <h3>{t.sod.conflicts}</h3>
          {current.conflicts.length === 0 && <p className="muted">{t.sod.noConflicts}</p>}
          <ul className="pairs">
            {current.conflicts.map(([p, q]) => (
              <li key={`${p}|${q}`}>
                <span>{t.sod.pair(permissionName(p, t), permissionName(q, t))}</span>
                <button type="button" className="secondary small-button" onClick={() => { save.reset(); setDraft({ ...current, conflicts: current.conflicts.filter(([x, y]) => !(x === p && y === q)) }); }} aria-label={t.sod.removePair(p, q)}>{t.rights.remove}</button>
              </li>
            ))}
          </ul>
          <fieldset className="inline-form">
            <legend>{t.sod.addPair}</legend>
            <FormField id="sod-a" label={t.sod.first}>
              <select value={a} onChange={(e) => setA(e.target.value as Permission)}>
                {PERMISSIONS.map((p) => <option key={p} value={p}>{permissionName(p, t)}</option>)}
              </select>
            </FormField>
            <FormField id="sod-b" label={t.sod.second}>
              <select value={b} onChange={(e) => setB(e.target.value as Permission)}>
                {PERMISSIONS.map((p) => <option key={p} value={p}>{permissionName(p, t)}</option>)}
              </select>
            </FormField>
            <button type="button" className="secondary" disabled={a === b || has(a, b)} onClick={() => { save.reset(); setDraft({ ...current, conflicts: [...current.conflicts, [a, b]] }); }}>{t.sod.add}</button>
          </fieldset>
          <label className="check">
            <input type="checkbox" checked={current.uploaderCannotApproveDisposal} onChange={(e) => { save.reset(); setDraft({ ...current, uploaderCannotApproveDisposal: e.target.checked }); }} />
            {t.sod.uploaderRule}
          </label>
          {changedMeanwhile(save.error) ? <div className="problem" role="alert"><p><strong>{t.sod.changedMeanwhile}</strong></p></div>
            : save.error ? <ProblemMessage error={save.error} /> : null}
          <div className="form-actions spaced">
            <button type="submit" disabled={!draft || save.isPending || saveWait > 0}>{t.sod.save}</button>
            {draft && <button type="button" className="secondary" onClick={() => { setDraft(null); save.reset(); }}>{t.sod.undo}</button>}
          </div>
          <p role="status" aria-live="polite" className={`status-line${save.data && 'proposed' in save.data && !draft ? ' notice' : ''}`}>{status}</p>
        </form>
      </section>
      {/* Once a proposal is decided, the "proposed" note above is old news. */}
      <SodProposals onDecided={() => save.reset()} />
    </>
  );
}

/** What a proposal changes, in the reader's words: pairs removed or added, the uploader rule turned off or on. */
function proposalChanges(p: Proposal, t: Dictionary): string[] {
  const before = new Set(p.base.conflicts.map(pairKey));
  const after = new Set(p.policy.conflicts.map(pairKey));
  const words = ([x = '', y = '']: readonly string[]) => t.sod.pair(permissionName(x, t), permissionName(y, t));
  return [
    ...p.base.conflicts.filter((c) => !after.has(pairKey(c))).map((c) => t.sod.removesPair(words(c))),
    ...p.policy.conflicts.filter((c) => !before.has(pairKey(c))).map((c) => t.sod.addsPair(words(c))),
    ...(p.base.uploaderCannotApproveDisposal && !p.policy.uploaderCannotApproveDisposal ? [t.sod.uploaderOff] : []),
    ...(!p.base.uploaderCannotApproveDisposal && p.policy.uploaderCannotApproveDisposal ? [t.sod.uploaderOn] : []),
  ];
}

function SodProposals({ onDecided }: { onDecided: () => void }) {
  const { t } = useI18n();
  // Paged and filtered by the API: a tenant's decided proposals pile up, so the lists no longer hold them all.
  const { pages: pendingPages, list: proposals } = usePagedQuery('pending', ['sod-policy-proposals', 'pending'], (token) => listProposals('pending', PENDING_PAGE_SIZE, token));
  const [outcome, setOutcome] = useState('');
  const pending = proposals.data?.items ?? [];
  return (
    <section className="panel" aria-labelledby="h-proposals">
      <h2 id="h-proposals">{t.sod.proposals}</h2>
      <p className="muted">{t.sod.proposalsIntro}</p>
      {proposals.error ? <ProblemMessage error={proposals.error} /> : null}
      <p role="status" aria-live="polite" className={`status-line${outcome ? ' notice' : ''}`}>{outcome}</p>
      {proposals.data && pending.length === 0 && <p className="muted">{wholeList(pendingPages.page, proposals.data) ? t.sod.noProposals : t.pageEmpty}</p>}
      {pending.map((p, i) => <SodProposalCard key={p.id} proposal={p} n={pendingPages.page * PENDING_PAGE_SIZE + i + 1} onDecided={(sentence) => { setOutcome(sentence); onDecided(); }} />)}
      <Pager label={t.sod.pendingPages} pages={pendingPages} list={proposals} />
      <DecidedProposals idPrefix="sod" queryKey="sod-policy-proposals" list={listProposals} changes={(p) => proposalChanges(p, t)} />
    </section>
  );
}

function SodProposalCard({ proposal: p, n, onDecided }: { proposal: Proposal; n: number; onDecided: (sentence: string) => void }) {
  const { t } = useI18n();
  const queries = useQueryClient();
  const after = (sentence: string) => {
    onDecided(sentence);
    void queries.invalidateQueries({ queryKey: ['sod-policy-proposals'] });
    void queries.invalidateQueries({ queryKey: ['sod-policy'] });
  };
  return (
    <ProposalCard
      proposal={p}
      n={n}
      changes={proposalChanges(p, t)}
      approve={(reason) => unwrap(api().POST('/sod-policy/proposals/{id}/approve', { params: { path: { id: p.id } }, body: { reason } }))}
      close={() => unwrap(api().DELETE('/sod-policy/proposals/{id}', { params: { path: { id: p.id } } }))}
      after={after}
      texts={{ approved: t.sod.approved, withdrawn: t.sod.withdrawn, rejected: t.sod.rejected, closeText: t.sod.closeText }}
    />
  );
}
