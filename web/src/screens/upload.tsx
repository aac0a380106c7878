/**
 * Archive a scan: one or several files (several files are the pages of one document, in the order
 * shown, reorderable by keyboard), the document's details checked by the API's own metadata schema,
 * and one Idempotency-Key per attempt, reused on a retry, so a double click or a retry never archives
 * twice. After archiving, the SHA-256 of each file as read here (WebCrypto) is shown beside the
 * archive's: equal means the archive holds exactly these bytes.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useRef, useState, type DragEvent, type FormEvent } from 'react';
import { ZDocumentMetadata } from '../../../shared/kernel/metadata';
import { api, apiFetch, ProblemError, unwrapVersioned, type ArchiveDocument, type Problem } from '../api';
import { FormField } from '../components/FormField';
import { asProblem, fieldErrors, ProblemMessage, problemSentence } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import type { Dictionary } from '../i18n/en';
import { characterMessage } from '../lib/field-message';
import { metadataValue } from '../lib/metadata-form';
import { sha256OffThread } from '../lib/sha256-off-thread';
import { useRetryWait } from '../lib/useRetryWait';
import { Link } from '../router';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';

const ACCEPT = '.jpg,.jpeg,.png,.tif,.tiff,.pdf,image/jpeg,image/png,image/tiff,application/pdf';
const FIELDS = ['documentDate', 'kind', 'counterparty', 'reference', 'amount', 'currency', 'tags', 'retentionClass'] as const;
type Field = (typeof FIELDS)[number];
type Form = Record<Field, string>;
const EMPTY: Form = { documentDate: '', kind: '', counterparty: '', reference: '', amount: '', currency: '', tags: '', retentionClass: '' };

interface Picked {
  key: string;
  file: File;
}

interface Archived {
  document: ArchiveDocument;
  replayed: boolean;
  /** SHA-256 (hex) of each file as this browser read it, in upload order. */
  local: string[];
}

/** Codes about a file's bytes (415/422), not about the details: the sentence names the file. */
const FILE_CODES = new Set<Problem['code']>(['unsupported_media_type', 'corrupt_file', 'encrypted_pdf', 'active_content', 'too_many_pixels', 'pixel_budget_exceeded', 'embedded_file', 'xfa_form', 'trailing_data', 'decompressed_too_large', 'normalisation_timeout', 'normalisation_memory', 'empty_body', 'payload_too_large']);

/** Whether a file starts like one the archive accepts (JPEG, PNG, TIFF, PDF): to name the refused one of several. */
async function looksAccepted(file: File): Promise<boolean> {
  const b = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  const starts = (...bytes: number[]) => bytes.every((x, i) => b[i] === x);
  return starts(0xff, 0xd8, 0xff) || starts(0x89, 0x50, 0x4e, 0x47) || starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a) || starts(0x25, 0x50, 0x44, 0x46);
}

/** The form as the API's metadata (empty fields left out), ready for ZDocumentMetadata. */
function metadataOf(form: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const v = form[f].trim();
    if (v !== '') out[f] = metadataValue(f, v);
  }
  return out;
}

/** The API's own schema, run here first: the same rules, shown next to the fields before anything is sent. */
function checkMetadata(form: Form, t: Dictionary): Record<string, string> {
  const parsed = ZDocumentMetadata.safeParse(metadataOf(form));
  if (parsed.success) return {};
  const out: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const path = String(issue.path[0] ?? 'metadata');
    if (out[path]) continue;
    out[path] = path === 'amount' ? t.upload.amountInvalid : path === 'currency' ? (form.currency.trim() === '' ? t.upload.currencyNeeded : form.amount.trim() === '' ? t.upload.amountNeeded : t.upload.currencyInvalid) : characterMessage(issue.message, t);
  }
  return out;
}

export function UploadScreen(_: ScreenProps) {
  const { t } = useI18n();
  const [picked, setPicked] = useState<Picked[]>([]);
  const [form, setForm] = useState<Form>(EMPTY);
  const [checked, setChecked] = useState<Record<string, string>>({});
  const [refusedFile, setRefusedFile] = useState<string | null>(null);
  // One key per attempt: a new one whenever the files or details change, the same one on a retry.
  const [attemptKey, setAttemptKey] = useState(() => crypto.randomUUID());
  const seq = useRef(0);
  // The same query as the retention screen's (its version included), which shares this cache entry.
  const policy = useQuery({ queryKey: ['retention-policy'], queryFn: () => unwrapVersioned(api().GET('/retention/policy')), retry: false });

  const archive = useMutation({
    mutationFn: async (): Promise<Archived> => {
      const body = new FormData();
      for (const p of picked) body.append('file', p.file, p.file.name);
      body.append('metadata', JSON.stringify(metadataOf(form)));
      // Hashed while the upload runs; awaited together, so a file that can no longer be read is this attempt's error, not an unhandled rejection.
      const [response, local] = await Promise.all([
        apiFetch('/documents', { method: 'POST', headers: { 'Idempotency-Key': attemptKey }, body }),
        Promise.all(picked.map((p) => sha256OffThread(p.file))),
      ]);
      const document = (await response.json()) as ArchiveDocument;
      return { document, replayed: response.headers.get('Idempotent-Replayed') === 'true', local };
    },
    onError: async (error) => {
      const problem = asProblem(error);
      if (!FILE_CODES.has(problem.code)) return setRefusedFile(null);
      if (picked.length === 1) return setRefusedFile(picked[0]!.file.name);
      const verdicts = await Promise.all(picked.map((p) => looksAccepted(p.file)));
      const culprit = picked.find((_p, i) => !verdicts[i]);
      setRefusedFile(culprit ? culprit.file.name : null);
    },
  });

  // A 429 or 503 with Retry-After: neither Archive nor Try again sends before it has passed.
  const wait = useRetryWait(archive.error);

  const changed = () => {
    setAttemptKey(crypto.randomUUID());
    archive.reset();
    setRefusedFile(null);
  };
  const addFiles = (files: FileList | null) => {
    if (!files || files.length === 0) return;
    // Copied now: the FileList is live and empties when the input is reset.
    const added = [...files].map((file) => ({ key: `f${++seq.current}`, file }));
    setPicked((old) => [...old, ...added]);
    changed();
  };
  const move = (index: number, direction: 'up' | 'down') => {
    const to = index + (direction === 'up' ? -1 : 1);
    if (to < 0 || to >= picked.length) return;
    const next = [...picked];
    [next[index], next[to]] = [next[to]!, next[index]!];
    setPicked(next);
    changed();
    // Keep the keyboard on the moved file: the same button, or the other one when it reached the end.
    const key = next[to].key;
    const atEnd = direction === 'up' ? to === 0 : to === next.length - 1;
    requestAnimationFrame(() => document.getElementById(`${key}-${atEnd ? (direction === 'up' ? 'down' : 'up') : direction}`)?.focus());
  };
  const remove = (index: number) => {
    setPicked((old) => old.filter((_p, i) => i !== index));
    changed();
    requestAnimationFrame(() => document.getElementById('u-files')?.focus());
  };
  const set = (f: Field, v: string) => {
    setForm((old) => ({ ...old, [f]: v }));
    if (checked[f]) setChecked((old) => ({ ...old, [f]: '' }));
    changed();
  };
  const again = () => {
    setPicked([]);
    setForm(EMPTY);
    setChecked({});
    changed();
    requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus());
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (archive.isPending || wait > 0 || picked.length === 0) return;
    const errors = checkMetadata(form, t);
    setChecked(errors);
    if (Object.keys(errors).length > 0) {
      requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
      return;
    }
    archive.mutate();
  };

  if (archive.data) return <Result archived={archive.data} files={picked.map((p) => p.file)} onAgain={again} />;

  const problem = archive.error instanceof ProblemError ? archive.error.problem : null;
  const errors = { ...fieldErrors(problem?.code === 'invalid_metadata' ? problem : null, t), ...Object.fromEntries(Object.entries(checked).filter(([, v]) => v)) };
  const field = (f: Field, control: 'input' | 'kind' | 'class' = 'input', props: { type?: string; hint?: string; inputMode?: 'decimal'; maxLength?: number } = {}) => {
    const common = { name: f, value: form[f] };
    return (
      <FormField id={`u-${f}`} label={t.fields[f]} hint={props.hint} error={errors[f]}>
        {control === 'kind' ? (
          <select {...common} onChange={(e) => set(f, e.target.value)}>
            <option value="">—</option>
            {Object.entries(t.kinds).map(([k, label]) => <option key={k} value={k}>{label}</option>)}
          </select>
        ) : control === 'class' ? (
          <select {...common} onChange={(e) => set(f, e.target.value)}>
            <option value="">{t.upload.defaultClass}</option>
            {(policy.data?.effectiveClasses ?? []).map((c) => <option key={c.name} value={c.name}>{t.upload.classOption(c.name, c.years)}</option>)}
          </select>
        ) : (
          <input {...common} type={props.type ?? 'text'} inputMode={props.inputMode} maxLength={props.maxLength} onChange={(e) => set(f, e.target.value)} />
        )}
      </FormField>
    );
  };

  return (
    <>
      <h1 tabIndex={-1}>{t.upload.title}</h1>
      <p className="muted lead">{t.upload.intro}</p>
      <form onSubmit={submit} noValidate>
        <section className="panel" aria-labelledby="h-files">
          <h2 id="h-files">{t.upload.files}</h2>
          <DropZone onFiles={addFiles} />
          {picked.length === 0 ? (
            <p className="muted" id="u-files" tabIndex={-1}>{t.upload.noFiles}</p>
          ) : (
            <>
              <p className="hint" id="u-files" tabIndex={-1}>{picked.length > 1 ? t.upload.orderHint : t.upload.oneFile}</p>
              <ol className="upload-files" aria-describedby="u-files">
                {picked.map((p, i) => (
                  <li key={p.key} className={refusedFile === p.file.name ? 'refused' : undefined}>
                    <span className="page-no" aria-hidden="true">{i + 1}</span>
                    <span className="file-name">{p.file.name}</span>
                    <FileSize size={p.file.size} />
                    <span className="file-actions">
                      <button type="button" className="secondary small-button" id={`${p.key}-up`} onClick={() => move(i, 'up')} disabled={i === 0} aria-label={t.upload.moveUp(p.file.name)}>↑</button>
                      <button type="button" className="secondary small-button" id={`${p.key}-down`} onClick={() => move(i, 'down')} disabled={i === picked.length - 1} aria-label={t.upload.moveDown(p.file.name)}>↓</button>
                      <button type="button" className="secondary small-button danger-outline" onClick={() => remove(i)} aria-label={t.upload.remove(p.file.name)}>{t.upload.removeShort}</button>
                    </span>
                  </li>
                ))}
              </ol>
            </>
          )}
        </section>

        <section className="panel" aria-labelledby="h-details">
          <h2 id="h-details">{t.upload.details}</h2>
          <p className="hint">{t.upload.detailsHint}</p>
          <div className="form-grid">
            {field('kind', 'kind')}
            {field('documentDate', 'input', { type: 'date' })}
            {field('counterparty', 'input', { maxLength: 200 })}
            {field('reference', 'input', { maxLength: 200 })}
            {field('amount', 'input', { inputMode: 'decimal', hint: t.upload.amountHint })}
            {field('currency', 'input', { maxLength: 3, hint: t.upload.currencyHint })}
            {field('tags', 'input', { hint: t.upload.tagsHint })}
            {field('retentionClass', 'class')}
          </div>
        </section>

        {archive.error ? <Refusal error={archive.error} fileName={refusedFile} /> : null}
        <div className="form-actions">
          <button type="submit" disabled={archive.isPending || wait > 0 || picked.length === 0} aria-busy={archive.isPending}>
            {archive.isPending ? t.upload.archiving : picked.length > 1 ? t.upload.submitPages(picked.length) : t.upload.submit}
          </button>
          {archive.error && !(archive.error instanceof ProblemError && archive.error.problem.status < 500) ? (
            <button type="button" className="secondary" onClick={() => archive.mutate()} disabled={archive.isPending || wait > 0}>{t.upload.retry}</button>
          ) : null}
        </div>
        <p role="status" aria-live="polite" className="status-line">{archive.isPending ? t.upload.archivingStatus(picked.length) : ''}</p>
      </form>
    </>
  );
}

function FileSize({ size }: { size: number }) {
  const { bytes } = useI18n();
  return <span className="muted file-size">{bytes(size)}</span>;
}

/** A file input that also takes files dropped on it; the input itself stays the keyboard's way in. */
function DropZone({ onFiles }: { onFiles: (files: FileList | null) => void }) {
  const { t } = useI18n();
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    onFiles(e.dataTransfer.files);
  };
  return (
    <div className={`drop-zone${over ? ' over' : ''}`} onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={drop}>
      <label htmlFor="u-pick">{t.upload.pick}</label>
      <input
        ref={input}
        id="u-pick"
        type="file"
        multiple
        accept={ACCEPT}
        aria-describedby="u-pick-hint"
        onChange={(e) => {
          onFiles(e.target.files);
          // The same file may be picked again after removing it.
          if (input.current) input.current.value = '';
        }}
      />
      <p className="hint" id="u-pick-hint">{t.upload.pickHint}</p>
    </div>
  );
}

/** A refusal as a sentence: a duplicate links to the document already archived; a file refusal names the file. */
function Refusal({ error, fileName }: { error: unknown; fileName: string | null }) {
  const { t } = useI18n();
  const problem: Problem = asProblem(error);
  if (problem.code === 'duplicate_document' && problem.documentId) {
    return (
      <div className="problem" role="alert">
        <p>
          <strong>{t.upload.duplicate}</strong>{' '}
          <Link href={`/documents/${encodeURIComponent(problem.documentId)}`}>{t.upload.openExisting}</Link>
        </p>
      </div>
    );
  }
  if (FILE_CODES.has(problem.code)) {
    return (
      <div className="problem" role="alert">
        <p><strong>{fileName ? t.upload.fileRefused(fileName) : t.upload.someFileRefused}</strong> {problemSentence(problem, t).join(' ')}</p>
        <p>{t.upload.nothingArchived}</p>
      </div>
    );
  }
  return <ProblemMessage error={error} ownedFields={[...FIELDS]} />;
}

function Result({ archived, files, onAgain }: { archived: Archived; files: File[]; onAgain: () => void }) {
  const { t } = useI18n();
  const d = archived.document;
  const all = d.originals.length === archived.local.length && d.originals.every((o, i) => o.sha256 === archived.local[i]);
  return (
    <>
      <h1 tabIndex={-1}>{t.upload.doneTitle}</h1>
      <section className="panel" aria-labelledby="h-done">
        <h2 id="h-done">{archived.replayed ? t.upload.replayed : t.upload.archived(d.pages)}</h2>
        <p role="status" className={`verdict ${all ? 'ok' : 'bad'}`}>
          <span className={`badge ${all ? 'success' : 'failed'}`}>{all ? t.upload.verified : t.upload.notVerified}</span>{' '}
          {all ? t.upload.verifiedText : t.upload.notVerifiedText}
        </p>
        <DataTable caption={t.upload.hashCaption} columns={[t.upload.page, t.document.fileName, t.upload.yourHash, t.upload.archiveHash, t.fields.status]}>
          {d.originals.map((o, i) => {
            const same = o.sha256 === archived.local[i];
            return (
              <tr key={o.sha256 + i}>
                <td>{i + 1}</td>
                <td className="nowrap">{files[i]?.name ?? o.fileName}</td>
                <td><code className="hash">{archived.local[i] ?? '—'}</code></td>
                <td><code className="hash">{o.sha256}</code></td>
                <td><span className={`badge ${same ? 'success' : 'failed'}`}>{same ? t.upload.verified : t.upload.notVerified}</span></td>
              </tr>
            );
          })}
        </DataTable>
        <div className="form-actions spaced">
          <Link href={`/documents/${encodeURIComponent(d.id)}`} className="button">{t.upload.openDocument}</Link>
          <button type="button" className="secondary" onClick={onAgain}>{t.upload.another}</button>
        </div>
      </section>
    </>
  );
}
