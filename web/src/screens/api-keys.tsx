/**
 * API keys for the organisation's programs: create one (its secret shown this once, with a copy button),
 * see them (those in use, or the revoked, expired or all ones; paged, never a secret), revoke one after a confirmation.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { paths } from '../../../cli/api/openapi-types';
import { api, ProblemError, unwrap } from '../api';
import { currentSession } from '../auth/session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { useRetryWait } from '../lib/useRetryWait';
import { BUILT_IN_SET_LIST, defaultKeyRightsSet, inWords, mayUse } from '../lib/permissions';
import { Link } from '../router';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';
import { Pager } from '../components/Pager';
import { revocableState } from '../lib/revocable-state';

type ApiKey = paths['/api-keys']['get']['responses'][200]['content']['application/json']['items'][number];
type CreatedKey = paths['/api-keys']['post']['responses'][201]['content']['application/json'];
type KeyState = NonNullable<NonNullable<paths['/api-keys']['get']['parameters']['query']>['state']>;

/** What the list can show, the API's `state`: the keys in use first, as the API answers by default. */
const KEY_STATES: readonly KeyState[] = ['in-use', 'revoked', 'expired', 'all'];
const PAGE_SIZE = 50;

const DAY = 24 * 3600 * 1000;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);

export function ApiKeysScreen(_: ScreenProps) {
  const { t } = useI18n();
  const [created, setCreated] = useState<CreatedKey | null>(null);
  return (
    <>
      <h1 tabIndex={-1}>{t.apiKeys.title}</h1>
      <p className="muted lead">{t.apiKeys.intro}</p>
      {created ? <SecretOnce created={created} onDone={() => setCreated(null)} /> : <CreateKey onCreated={setCreated} />}
      <KeyList />
    </>
  );
}

function CreateKey({ onCreated }: { onCreated: (k: CreatedKey) => void }) {
  const { t } = useI18n();
  const queries = useQueryClient();
  const [name, setName] = useState('');
  const [chosenSet, setRightsSet] = useState<string | null>(null);
  const [expires, setExpires] = useState(inDays(90));
  // The organisation's own sets, when this person may read them; the built-in ones otherwise.
  const sets = useQuery({ queryKey: ['rights-sets'], queryFn: () => unwrap(api().GET('/rights-sets')), retry: false });
  // Until the list has answered (or refused), the form waits: the built-in list in its place once started
  // a person holding a set of the organisation's own on a set beyond their rights, which the API refused.
  const setsKnown = !sets.isPending;
  const list = sets.data ? sets.data.items : BUILT_IN_SET_LIST;
  const names = list.map((s) => s.name);
  // Until the person picks one: a set they may grant (within their own rights), never one the API would refuse.
  const person = currentSession()?.person;
  const rightsSet = chosenSet ?? (person ? defaultKeyRightsSet(person, list) : undefined) ?? names[0] ?? '';

  const create = useMutation({
    mutationFn: () => unwrap(api().POST('/api-keys', { body: { name: name.trim(), rightsSet, ...(expires ? { expiresAt: `${expires}T23:59:59Z` } : {}) } })),
    onSuccess: (key) => {
      onCreated(key);
      void queries.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const createWait = useRetryWait(create.error);
  const problem = create.error instanceof ProblemError ? create.error.problem : null;
  const errors = fieldErrors(problem, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section className="panel" aria-labelledby="h-create">
      <h2 id="h-create">{t.apiKeys.create}</h2>
      <form onSubmit={submit} noValidate>
        <div className="form-grid">
          <FormField id="k-name" label={t.apiKeys.name} hint={t.apiKeys.nameHint} error={errors.name}>
            <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
          </FormField>
          <FormField id="k-set" label={t.apiKeys.rightsSet} error={errors.rightsSet}>
            <select value={rightsSet} onChange={(e) => setRightsSet(e.target.value)} disabled={!setsKnown}>
              {names.map((n) => (
                <option key={n} value={n}>{inWords(n, t.rightsSets)}</option>
              ))}
            </select>
          </FormField>
          <FormField id="k-expires" label={t.apiKeys.expires} error={errors.expiresAt}>
            <input type="date" value={expires} min={inDays(1)} onChange={(e) => setExpires(e.target.value)} />
          </FormField>
        </div>
        <div className="form-actions">
          <button type="submit" disabled={!setsKnown || create.isPending || createWait > 0 || name.trim() === ''} aria-busy={create.isPending}>{t.apiKeys.createButton}</button>
        </div>
      </form>
      {create.error ? <ProblemMessage error={create.error} ownedFields={['name', 'rightsSet', 'expiresAt']} /> : null}
    </section>
  );
}

/** The secret, once: a warning that says so, a copy button, and a deliberate "I have stored it". */
function SecretOnce({ created, onDone }: { created: CreatedKey; onDone: () => void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const copy = () => {
    navigator.clipboard.writeText(created.key).then(
      () => setCopied('yes'),
      () => setCopied('failed'),
    );
  };
  return (
    <section className="panel secret-panel" aria-labelledby="h-secret">
      <h2 id="h-secret" tabIndex={-1} ref={(el) => el?.focus()}>{t.apiKeys.createdTitle(created.name)}</h2>
      <p className="warning" role="alert">
        <strong>{t.apiKeys.onceWarning}</strong>
      </p>
      <div className="field">
        <label htmlFor="k-secret">{t.apiKeys.secret}</label>
        <div className="secret-row">
          <input id="k-secret" className="secret" readOnly value={created.key} spellCheck={false} onFocus={(e) => e.target.select()} />
          <button type="button" onClick={copy}>{t.apiKeys.copy}</button>
        </div>
      </div>
      <p role="status" aria-live="polite" className="status-line">
        {copied === 'yes' ? t.apiKeys.copied : copied === 'failed' ? t.apiKeys.copyFailed : ''}
      </p>
      <p className="muted">{t.apiKeys.usage}</p>
      {created.personIdleDays !== null && <p className="warning" id="k-idle-limit">{t.apiKeys.idleLimit(created.personIdleDays)}</p>}
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onDone}>{t.apiKeys.stored}</button>
      </div>
    </section>
  );
}

function KeyList() {
  const { t, dateTime, date } = useI18n();
  const queries = useQueryClient();
  // Paged and filtered by the API: a tenant's revoked and expired keys pile up, so the list no longer holds them all.
  const [shown, setShown] = useState<KeyState>('in-use');
  const { pages, list: keys } = usePagedQuery(shown, ['api-keys', shown], (token) => unwrap(api().GET('/api-keys', { params: { query: { state: shown, limit: PAGE_SIZE, continuationToken: token } } })));
  const { page } = pages;
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [failed, setFailed] = useState<{ id: string; error: unknown } | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api().DELETE('/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setRevoking(null);
      void queries.invalidateQueries({ queryKey: ['api-keys'] });
    },
    onError: (error, id) => {
      setRevoking(null);
      setFailed({ id, error });
      // Read again: a revoke whose answer was lost on the way may have happened, and the row must not go on showing
      // the key in use beside the error (nor invite a revoke of a key that is revoked already).
      void queries.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const revokeWait = useRetryWait(revoke.error);
  const me = currentSession()?.person.subject;
  // What a key did (after a leak, before or after revoking it): the audit log filtered to the key, for who may read it.
  const person = currentSession()?.person;
  const readsAudit = person !== undefined && mayUse(person, ['audit:read']);
  const items = keys.data?.items ?? [];
  return (
    <section className="panel" aria-labelledby="h-keys">
      <h2 id="h-keys">{t.apiKeys.list}</h2>
      <div className="form-grid">
        <FormField id="k-shown" label={t.apiKeys.show}>
          <select value={shown} onChange={(e) => setShown(e.target.value as KeyState)}>
            {KEY_STATES.map((s) => (
              <option key={s} value={s}>{t.apiKeys.filters[s]}</option>
            ))}
          </select>
        </FormField>
      </div>
      {keys.error ? <ProblemMessage error={keys.error} /> : null}
      {keys.isLoading && <p role="status">{t.loading}</p>}
      {keys.data && items.length === 0 && <p className="muted">{!wholeList(page, keys.data) ? t.pageEmpty : shown === 'all' ? t.apiKeys.none : t.apiKeys.noneInState}</p>}
      {items.length > 0 && (
        <DataTable caption={t.apiKeys.list} columns={[t.apiKeys.name, t.apiKeys.prefix, t.apiKeys.rightsSet, t.apiKeys.createdBy, t.apiKeys.expires, t.apiKeys.lastUsed, t.apiKeys.state, { label: t.apiKeys.actions, visuallyHidden: true }]}>
          {items.map((k) => {
            const state = revocableState(k);
            return (
              <tr key={k.id}>
                <th scope="row">{k.name}</th>
                <td><code className="prefix">{k.prefix}…</code></td>
                <td>{k.rightsSet}</td>
                <td>{k.createdBy.subject === me ? t.you : k.createdBy.subject}<br /><span className="muted small">{dateTime(k.createdAt)}</span></td>
                <td>{date(k.expiresAt)}</td>
                <td>{k.lastUsedAt ? dateTime(k.lastUsedAt) : <span className="muted">{t.apiKeys.never}</span>}</td>
                <td>
                  <span className={`badge ${state === 'active' ? 'success' : 'refused'}`}>{t.apiKeys.states[state]}</span>
                  {k.revokedAt && <span className="muted small"> {dateTime(k.revokedAt)}</span>}
                  {state === 'keyEnded' && <span className="muted small"> {t.apiKeys.keyEnded(k.endedWithKey ?? '')}</span>}
                  {state === 'notSealed' && <> <span className="badge warning">{t.apiKeys.notSealed}</span><br /><span className="muted small">{t.apiKeys.notSealedHelp}</span></>}
                </td>
                <td>
                  {(state === 'active' || state === 'keyEnded' || state === 'notSealed') && (
                    <button type="button" className="secondary danger-outline" onClick={() => { setFailed(null); setRevoking(k); }} aria-label={t.apiKeys.revokeNamed(k.name)}>
                      {t.apiKeys.revoke}
                    </button>
                  )}
                  {readsAudit && <> <Link href={`/audit?actor=${encodeURIComponent(`apikey:${k.id}`)}`} aria-label={t.apiKeys.whatItDidNamed(k.name)}>{t.apiKeys.whatItDid}</Link></>}
                  {failed?.id === k.id && <ProblemMessage error={failed.error} />}
                </td>
              </tr>
            );
          })}
        </DataTable>
      )}
      <Pager label={t.apiKeys.pages} pages={pages} list={keys} />
      <ConfirmDialog
        open={revoking !== null}
        title={revoking ? t.apiKeys.confirmTitle(revoking.name) : ''}
        confirmLabel={t.apiKeys.revoke}
        busy={revoke.isPending} disabled={revokeWait > 0}
        onConfirm={() => revoking && revoke.mutate(revoking.id)}
        onCancel={() => setRevoking(null)}
      >
        <p>{t.apiKeys.confirmText}</p>
      </ConfirmDialog>
    </section>
  );
}
