/**
 * A script running the `archive` CLI must tell "run again" from "needs a person": a failure that goes away by itself
 * (no answer, the archive busy or briefly unavailable: 429, 502, 503, 504) exits 75 (EX_TEMPFAIL); a refusal (403, 404,
 * 422, a 500 such as file_damaged) exits 1. The download faults (cuts, resets, expired links) are judged in
 * resume-sweep.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Client, CliError, EXIT_RUN_AGAIN, type FetchLike, getDocumentFiles, listExports } from '../../../cli/core';

const BASE = 'http://127.0.0.1:9/api';
const problem = (status: number, code: string) => Response.json({ type: 'about:blank', title: code, status, code, detail: `a ${code}` }, { status, headers: { 'Content-Type': 'application/problem+json' } });
const clientOf = (fetch: FetchLike): Client => ({ config: { url: BASE, token: 'secret-token' }, fetch });
const ORIGINAL = { mediaType: 'image/jpeg', size: 10, sha256: 'ab'.repeat(32), fileName: 'scan.jpg' };
const DOC = { id: 'd1', original: ORIGINAL, originals: [ORIGINAL], rendition: { mediaType: 'application/pdf', size: 10, sha256: 'cd'.repeat(32) } };

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-exit-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

async function exitOf(run: () => Promise<unknown>): Promise<number> {
  const err = await run().then(() => null, (e: unknown) => e);
  if (!(err instanceof CliError)) throw new Error(`not a CliError: ${String(err)}`);
  return err.exitCode;
}

it.each([
  [429, 'too_many_refusals', EXIT_RUN_AGAIN],
  [502, 'dependency_unavailable', EXIT_RUN_AGAIN],
  [503, 'dependency_unavailable', EXIT_RUN_AGAIN],
  [504, 'dependency_unavailable', EXIT_RUN_AGAIN],
  [403, 'forbidden', 1],
  [404, 'document_not_found', 1],
  [500, 'file_damaged', 1],
])('an answer %i (%s) exits %i, for a typed call and for a file download alike', async (status, code, exit) => {
  const answer: FetchLike = async () => problem(status, code);
  expect(await exitOf(() => listExports(clientOf(answer)))).toBe(exit);
  // The document's JSON answered, its file not.
  const file: FetchLike = async (url) => (url.endsWith('/documents/d1') ? Response.json(DOC) : problem(status, code));
  expect(await exitOf(() => getDocumentFiles(clientOf(file), 'd1', { outDir: work, original: false }))).toBe(exit);
});

it('no answer at all exits 75, naming the call', async () => {
  const silent: FetchLike = async () => {
    throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });
  };
  const err = await listExports(clientOf(silent)).then(() => null, (e: unknown) => e as CliError);
  expect(err).toMatchObject({ exitCode: EXIT_RUN_AGAIN, message: expect.stringMatching(/^GET \/exports.*no answer from the archive.*run again/) });
});
