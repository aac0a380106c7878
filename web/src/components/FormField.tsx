import { cloneElement, type ReactElement, type ReactNode } from 'react';
import { FieldError } from './ProblemMessage';

type Control = ReactElement<{ id?: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }>;

/**
 * One form field: its label, its control (input, select or textarea), an optional hint and the
 * problem's message for it, wired together. The control is given its id, aria-describedby (the
 * hint, then the error) and aria-invalid here, so no screen writes those ids by hand.
 */
export function FormField({ id, label, hint, error, className, children }: { id: string; label: ReactNode; hint?: ReactNode; error?: string | undefined; className?: 'grow' | 'narrow'; children: Control }) {
  const describedBy = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, 'aria-describedby': describedBy, 'aria-invalid': error ? true : undefined })}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <FieldError id={`${id}-error`} message={error} />
    </div>
  );
}
