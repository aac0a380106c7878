/**
 * The check a verified download makes (web/src/lib/verify.ts): the file is saved only when the archive's
 * record and the Repr-Digest both agree with its SHA-256, and then as the very Blob that was fetched, never
 * read whole into one buffer; a mismatch saves nothing.
 */
import { createHash } from 'node:crypto';
import { SLICE_BYTES } from '../../../web/src/lib/sha256';
import { saveIfVerified, type Stage } from '../../../web/src/lib/verify';

/** More than one slice, so the progress reports and the sliced reads are exercised. */
function bytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + (i >>> 11)) & 0xff;
  return out;
}

const reference = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const reprDigest = (hex: string) => `sha-256=:${Buffer.from(hex, 'hex').toString('base64')}:`;

describe('saveIfVerified', () => {
  const data = bytes(2 * SLICE_BYTES + 5);
  const right = reference(data);
  const wrong = reference(bytes(10));

  async function check(expected: string, headers: Record<string, string>) {
    const body = new Blob([data], { type: 'application/zip' });
    const whole = jest.spyOn(body, 'arrayBuffer');
    const save = jest.fn<void, [Blob, string]>();
    const stages: Stage[] = [];
    const outcome = await saveIfVerified(new Headers(headers), body, expected, 'export.zip', (s) => stages.push(s), save);
    expect(whole).not.toHaveBeenCalled();
    return { body, save, stages, outcome };
  }

  it('saves the fetched Blob itself when the record and the Repr-Digest agree with the bytes', async () => {
    const { body, save, stages, outcome } = await check(right.toUpperCase(), { 'Repr-Digest': reprDigest(right), 'Content-Disposition': 'attachment; filename="fy2025.zip"' });
    expect(outcome).toEqual({ ok: true, fileName: 'fy2025.zip', sha256: right });
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toBe(body);
    expect(save.mock.calls[0]![1]).toBe('fy2025.zip');
    expect(stages[0]).toEqual({ stage: 'hashing', done: 0, total: data.length });
    expect(stages.at(-1)).toEqual({ stage: 'hashing', done: data.length, total: data.length });
  });

  it('saves with the record alone when no Repr-Digest came (a storage link)', async () => {
    const { save, outcome } = await check(right, {});
    expect(outcome).toEqual({ ok: true, fileName: 'export.zip', sha256: right });
    expect(save).toHaveBeenCalledTimes(1);
  });

  it('saves nothing when the bytes do not hash to the record, even with a Repr-Digest that matches them', async () => {
    const { save, outcome } = await check(wrong, { 'Repr-Digest': reprDigest(right) });
    expect(outcome).toEqual({ ok: false, fileName: 'export.zip', expected: wrong, actual: right });
    expect(save).not.toHaveBeenCalled();
  });

  it('saves nothing when the bytes match the record but the Repr-Digest does not', async () => {
    const { save, outcome } = await check(right, { 'Repr-Digest': reprDigest(wrong) });
    expect(outcome).toEqual({ ok: false, fileName: 'export.zip', expected: right, actual: right });
    expect(save).not.toHaveBeenCalled();
  });
});
