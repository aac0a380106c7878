/** A download button that says "verified" only after the browser checked the SHA-256 itself. */
import { useState } from 'react';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { verifiedDownload } from '../lib/verified-download';
import type { Stage, VerifyOutcome } from '../lib/verify';
import { ProblemMessage } from './ProblemMessage';

type State = { stage: 'idle' } | Stage | { stage: 'done'; outcome: VerifyOutcome } | { stage: 'error'; error: unknown };

export function VerifiedDownload({ path, sha256, fileName, label }: { path: string; sha256: string; fileName: string; label: string }) {
  const { t } = useI18n();
  const [state, setState] = useState<State>({ stage: 'idle' });
  const busy = state.stage === 'fetching' || state.stage === 'hashing';
  const wait = useRetryWait(state.stage === 'error' ? state.error : undefined);
  const start = () => {
    verifiedDownload(path, sha256, fileName, setState)
      .then((outcome) => setState({ stage: 'done', outcome }))
      .catch((error: unknown) => setState({ stage: 'error', error }));
  };
  return (
    <div className="download">
      <button type="button" onClick={start} disabled={busy || wait > 0} aria-busy={busy}>{label}</button>
      <p className="download-status" role="status" aria-live="polite">
        {state.stage === 'fetching' && t.verify.fetching(fileName)}
        {state.stage === 'hashing' && t.verify.hashing}
        {state.stage === 'done' && state.outcome.ok && <span className="verified">✓ {t.verify.verified(state.outcome.fileName)}</span>}
        {state.stage === 'done' && !state.outcome.ok && <span className="not-verified">✗ {t.verify.mismatch(state.outcome.fileName)}</span>}
      </p>
      {/* A file of several GB takes a while to hash in the browser: how far it got. */}
      {state.stage === 'hashing' && state.total > 0 && <progress max={state.total} value={state.done} aria-label={t.verify.hashing} />}
      {state.stage === 'error' && <ProblemMessage error={state.error} />}
    </div>
  );
}
