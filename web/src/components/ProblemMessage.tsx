/**
 * Turns the API's problem+json into a sentence in the reader's language (lib/problem-sentence.ts), how long to wait when its
 * Retry-After named a wait (counting down), and field errors (shown next to their fields by
 * <FieldError>, listed here only when no field on the screen owns them). Never a dump.
 */
import { ProblemError, type Problem } from '../api';
import { useI18n } from '../i18n';
import type { Dictionary } from '../i18n/en';
import { fieldMessage } from '../lib/field-message';
import { inWords } from '../lib/permissions';
import { permissionName, problemSentence } from '../lib/problem-sentence';
import { useRetryWait } from '../lib/useRetryWait';

export { permissionName, problemSentence };

export function asProblem(error: unknown): Problem {
  if (error instanceof ProblemError) return error.problem;
  return { type: 'about:blank', title: String(error), status: 0, code: 'internal', requestId: '' };
}

/** Field errors by path (`reason`, `metadata.amount` → `amount`), each in the reader's words where we know them. */
export function fieldErrors(problem: Problem | null, t: Dictionary): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of problem?.errors ?? []) {
    const path = e.path.replace(/^(metadata|body)\./, '');
    out[path] = fieldMessage(e.message, t);
  }
  return out;
}

export function ProblemMessage({ problem, error, ownedFields = [] }: { problem?: Problem | null; error?: unknown; ownedFields?: string[] }) {
  const { t } = useI18n();
  const wait = useRetryWait(error);
  const p = problem ?? (error ? asProblem(error) : null);
  if (!p) return null;
  const fields = fieldErrors(p, t);
  const loose = Object.entries(fields).filter(([path]) => !ownedFields.includes(path));
  // A form refused only for fields it shows: point at them rather than at the request.
  const allOwned = Object.keys(fields).length > 0 && loose.length === 0 && ['bad_request', 'invalid_metadata', 'invalid_query'].includes(p.code);
  return (
    <div className="problem" role="alert">
      <p>
        <strong>{allOwned ? t.problem.checkFields : problemSentence(p, t).join(' ')}</strong>
        {/* Read out once with the alert; a timer region is not re-announced each second as it counts down. */}
        {wait > 0 && <> <span role="timer" aria-live="off">{t.problem.retryIn(wait)}</span></>}
      </p>
      {Array.isArray(p.holders) && p.holders.length > 0 && <Holders holders={p.holders} />}
      {loose.length > 0 && (
        <ul>
          {loose.map(([path, message]) => (
            <li key={path}>{t.problem.field(t.fields[path] ?? path, message)}</li>
          ))}
        </ul>
      )}
      {p.requestId && p.status >= 500 && <p className="muted">{t.problem.reference(p.requestId)}</p>}
    </div>
  );
}

/** Which rights sets would hold a declared pair under a policy, and who holds them (409 conflicting_rights_held). */
function Holders({ holders }: { holders: NonNullable<Problem['holders']> }) {
  const { t } = useI18n();
  return (
    <>
      <p>{t.problem.holdersTitle}</p>
      <ul>
        {holders.map((h) => {
          const who = [...(h.caller ? [t.you] : []), ...h.subjects, ...h.apiKeys.map((k) => t.problem.holderKey(k))];
          const [a, b] = h.conflict;
          return (
            <li key={h.rightsSet}>
              {t.problem.holder(inWords(h.rightsSet, t.rightsSets), permissionName(a, t), permissionName(b, t), who.length > 0 ? t.problem.heldBy(who) : t.problem.holdersNobody)}
            </li>
          );
        })}
      </ul>
    </>
  );
}

/** The error of one field, placed under it and named by its aria-describedby. */
export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <p className="field-error" id={id}>
      {message}
    </p>
  );
}
