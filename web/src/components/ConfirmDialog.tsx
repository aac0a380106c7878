/**
 * A modal question before something that cannot be undone (revoke a key, release a hold). The native
 * <dialog> traps focus, closes on Escape and returns focus to the button that opened it.
 */
import { useEffect, useId, useRef, type FormEvent, type ReactNode } from 'react';
import { useI18n } from '../i18n';

export function ConfirmDialog({ open, title, children, confirmLabel, busy = false, disabled = false, danger = true, onConfirm, onCancel }: {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  busy?: boolean;
  /** The confirm button held back while not sending, e.g. until a refusal's Retry-After has passed. */
  disabled?: boolean;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      // showModal focuses the first control. Never the irreversible button: a second Enter (or a repeating key)
      // on the button that opened the dialog would confirm at once. A field (a reason) keeps the focus.
      if (danger && document.activeElement === confirm.current) cancel.current?.focus();
    }
    if (!open && dialog.open) dialog.close();
  }, [open, danger]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (busy || disabled) return;
    onConfirm();
  };
  return (
    <dialog ref={ref} className="confirm" aria-labelledby={`${id}-title`} onCancel={(e) => { e.preventDefault(); onCancel(); }}>
      {open && (
        <form onSubmit={submit} noValidate>
          <h2 id={`${id}-title`}>{title}</h2>
          {children}
          <div className="form-actions">
            <button ref={confirm} type="submit" className={danger ? 'danger' : undefined} disabled={busy || disabled} aria-busy={busy}>{confirmLabel}</button>
            <button ref={cancel} type="button" className="secondary" onClick={onCancel}>{t.cancel}</button>
          </div>
        </form>
      )}
    </dialog>
  );
}
