/**
 * One tenant against the others on the request paths: what one tenant's people and keys may do, each
 * within the limits the archive allows, must not make another tenant's request wait behind all of it.
 * Judged by counts (which conversion a worker took before which), never by time.
 */
import { readFileSync } from 'node:fs';
import { Piscina } from 'piscina';
import { call, rawUpload } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { gate } from '../support/interleave';
import { interlacedGrayPng } from '../support/png';

// In memory, and spooled to a file (every upload above 0 bytes): the two ways ingest hands an upload to the pool.
describe.each([
  ['in memory', {}],
  ['spooled', { ARCHIVE_UPLOAD_SPOOL_BYTES: '0' }],
])('the normaliser pool (%s), one tenant\'s pile of conversions against another tenant\'s one upload', (_, settings: Record<string, string>) => {
  let archive: TestArchive;
  beforeAll(async () => {
    archive = await startTestArchive({ ARCHIVE_NORMALISE_THREADS: '1', ...settings });
  });
  afterAll(() => archive.stop());

  it('another tenant\'s upload waits for the conversion under way, not for every one queued before it', async () => {
    const attacker = newTenant('pile');
    const victim = newTenant('quiet');
    const attackerToken = await archive.token({ tenant: attacker, sub: 'app', rights: 'uploader' });
    const victimToken = await archive.token({ tenant: victim, sub: 'app', rights: 'uploader' });
    const upload = (png: Buffer, token: string) => call(`${archive.url}/documents`, { ...rawUpload(png, 'image/png'), token });

    // Which upload a worker was handed, in order (a PNG's width names it), each held until the test lets them go.
    const handed: number[] = [];
    const release = gate();
    // The method itself, called on the pool the spy was called on (read off the prototype: not a method taken from its object).
    const original = Object.getOwnPropertyDescriptor(Piscina.prototype, 'run')!.value as (this: Piscina, ...args: Parameters<Piscina['run']>) => ReturnType<Piscina['run']>;
    const run = jest.spyOn(Piscina.prototype, 'run').mockImplementation(async function (this: Piscina, task: { input: { files: { bytes?: Buffer; spooled?: { path: string } }[] } }, opts) {
      const file = task.input.files[0]!;
      handed.push((file.bytes ?? readFileSync(file.spooled!.path)).readUInt32BE(16));
      await release.wait;
      return original.call(this, task, opts);
    });
    // How many uploads have reached the normaliser (asked for a conversion).
    const normaliser = archive.host.deps.normaliser;
    const asked = normaliser.normalise.bind(normaliser);
    let reached = 0;
    const allReached = (n: number) => new Promise<void>((resolve) => {
      const poll = () => (reached >= n ? resolve() : setImmediate(poll));
      poll();
    });
    const askedToFile = normaliser.normaliseToFile.bind(normaliser);
    normaliser.normalise = (...args) => (reached++, asked(...args));
    normaliser.normaliseToFile = (...args) => (reached++, askedToFile(...args));
    try {
      // The attacker: as many uploads at once as it likes, every one allowed (each PNG re-compressed in a worker).
      const pile = Array.from({ length: 10 }, (_, i) => upload(interlacedGrayPng(64 + i), attackerToken));
      await allReached(10);
      const quiet = upload(interlacedGrayPng(32), victimToken);
      await allReached(11);
      release.open();
      const answers = await Promise.all([...pile, quiet]);
      expect(answers.map((a) => a.status)).toEqual(Array(11).fill(201));
      // The victim's conversion came after at most the one the single worker had already taken.
      expect(handed).toHaveLength(11);
      expect(handed.indexOf(32)).toBeLessThanOrEqual(1);
    } finally {
      normaliser.normalise = asked;
      normaliser.normaliseToFile = askedToFile;
      run.mockRestore();
    }
  });
});
