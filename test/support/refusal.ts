import { ArchiveError } from '../../shared/kernel/errors';

/** The ArchiveError `p` is refused with; a test fails if it resolves, or fails with anything else. */
export async function refusal(p: Promise<unknown>): Promise<ArchiveError> {
  const outcome = await p.then(() => null, (err: unknown) => err);
  if (outcome === null) throw new Error('expected a refusal, but it succeeded');
  if (!(outcome instanceof ArchiveError)) throw new Error('expected an ArchiveError', { cause: outcome });
  return outcome;
}
