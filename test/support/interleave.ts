import type { TenantRecordsPort } from '../../shared/ports';

/** A promise a test opens by hand: where one request waits until another has done its part. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  return { wait: new Promise<void>((r) => (open = r)), open };
}

/**
 * Runs `paused` until its first `method` call on `records` that `when` picks has answered, runs `meanwhile`,
 * then lets `paused` finish with what it read: one request decided on a read another request then changed.
 */
export async function interleave<T>(records: TenantRecordsPort, method: 'get' | 'list' | 'countApiKeysInUse' | 'countRightsAssignments' | 'apiKeysInUse', when: (args: unknown[]) => boolean, paused: () => Promise<T>, meanwhile: () => Promise<void>): Promise<T> {
  const original = records[method].bind(records) as (...args: unknown[]) => Promise<unknown>;
  const reached = gate();
  const resume = gate();
  let left = 1;
  (records as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const result = await original(...args);
    if (when(args) && left-- > 0) {
      reached.open();
      await resume.wait;
    }
    return result;
  };
  try {
    const outcome = paused();
    await reached.wait;
    await meanwhile();
    resume.open();
    return await outcome;
  } finally {
    (records as unknown as Record<string, unknown>)[method] = original;
  }
}
