import { useMemo, useState } from 'react';

/**
 * One Idempotency-Key per attempt at a create (a hold, an export): the same key while the person retries what they
 * entered (a double click, Try again after a lost answer: the archive answers what the first attempt made), a new one
 * once anything entered changes or the create succeeded (`next`), so a deliberate second hold or export is its own.
 */
export function useAttemptKey(entered: readonly unknown[]): { key: string; next: () => void } {
  const [round, setRound] = useState(0);
  const fingerprint = JSON.stringify(entered);
  // A new key exactly when what was entered, or the round, changes.
  const key = useMemo(() => crypto.randomUUID(), [fingerprint, round]);
  return { key, next: () => setRound((r) => r + 1) };
}
