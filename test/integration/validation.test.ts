/**
 * Issue #14, per document: every stored rendition is validated by veraPDF through the
 * `rendition-validation` queue; the report is stored beside it and served, the outcome shown.
 * Needs a JDK and Maven (veraPDF): without them this file fails loudly, it never skips.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PDFDocument, PDFName } from 'pdf-lib';
import type { Logger } from '../../shared/ports';
import type { ArchivedDocument } from '../../shared/kernel/document';
import { sha256, uuidv7 } from '../../shared/ids';
import { requeuePendingValidations } from '../../shared/validation/request';
import type { RenditionValidator, ValidatorBatch } from '../../shared/kernel/validation';
import { resolveVeraPdf, VeraPdfValidator } from '../../shared/validation/verapdf';
import { recordOutcome, recordStoredOutcome, validateRenditions, ValidationDeps, VALIDATION_FAILED } from '../../shared/validation/worker';
import { outcomeKey, outcomeSignature } from '../../shared/kernel/outcome-signature';
import { StaticSecretSource } from '../../shared/adapters/azure/secrets';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, tenantState, TestArchive } from '../support/harness';
import { sealedManifest } from '../../shared/documents/manifest';

const ROOT = path.resolve(__dirname, '../..');

/** The real validator, recording what veraPDF produced for each rendition. */
class RecordingValidator implements RenditionValidator {
  readonly name = 'veraPDF';
  readonly produced = new Map<string, Buffer>();
  constructor(private readonly inner: RenditionValidator) {}
  async validate(renditions: { name: string; bytes: Buffer }[]): Promise<ValidatorBatch> {
    const batch = await this.inner.validate(renditions);
    batch.results.forEach((r, i) => this.produced.set(renditions[i]!.name, r.report));
    return batch;
  }
  readReport(report: Buffer) {
    return this.inner.readReport(report);
  }
}

let archive: TestArchive;
let tenant: string;
let token: string;
let validator: RecordingValidator;
const errors: { message: string; fields?: Record<string, unknown> }[] = [];
const log: Logger = { info: () => undefined, warn: () => undefined, error: (message, fields) => void errors.push({ message, ...(fields ? { fields } : {}) }) };
const queueName = `validation-${newTenant('q').slice(2)}`;
let deps: ValidationDeps;

beforeAll(async () => {
  // veraPDF through Maven: a machine without java/mvn fails here, loudly.
  validator = new RecordingValidator(new VeraPdfValidator(resolveVeraPdf(ROOT)));
  archive = await startTestArchive({ ARCHIVE_VALIDATION_QUEUE: queueName });
  deps = { ...archive.host.deps, log, validator };
  tenant = newTenant('val');
  token = await archive.token({ tenant, sub: 'clerk@val.example', rights: 'archivist' });
}, 120_000);
afterAll(() => archive.stop());

async function upload(file: string, type: string): Promise<{ id: string; validation: unknown }> {
  const up = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile(file), type, path.basename(file)), token });
  expect(up.status).toBe(201);
  return up.json;
}

const getDoc = async (id: string) => (await call(`${archive.url}/documents/${id}`, { token })).json;

/** Runs the worker until the queue is drained (messages of this test's own queue only). */
async function drain(d: ValidationDeps = deps) {
  await archive.host.deps.validationRequests.flush(); // this instance's gathered requests, on the queue now
  const total = { recorded: [] as { documentId: string; passed: boolean; failedRules: string[] }[], unchanged: 0, poisoned: 0 };
  for (;;) {
    const r = await validateRenditions({ now: new Date(), max: 16 }, d);
    total.recorded.push(...r.recorded);
    total.unchanged += r.unchanged;
    total.poisoned += r.poisoned;
    if (r.received === 0) return total;
  }
}

describe('rendition validation by veraPDF', () => {
  it('an uploaded scan shows pending, then passed, and its report is served byte for byte as veraPDF produced it', async () => {
    const doc = await upload('img2pdf/normal.jpg', 'image/jpeg');
    expect(doc.validation).toEqual({ status: 'pending' });
    expect((await call(`${archive.url}/documents/${doc.id}/validation`, { token })).json.code).toBe('validation_pending');

    const run = await drain();
    expect(run.recorded).toContainEqual({ tenantId: tenant, documentId: doc.id, passed: true, failedRules: [] });

    const after = await getDoc(doc.id);
    expect(after.validation).toMatchObject({ status: 'passed', passed: true, failedRules: [], validator: { name: 'veraPDF', version: '1.28.2' }, profile: 'PDF/A-2B' });
    const produced = validator.produced.get(`${doc.id}/rendition.pdf`)!;
    expect(produced).toBeDefined();
    expect(after.validation.report).toEqual({ sha256: sha256(produced), size: produced.length });

    const report = await call(`${archive.url}/documents/${doc.id}/validation`, { token });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toBe('application/json');
    expect(report.bytes.equals(produced)).toBe(true);
    expect(report.headers.get('etag')).toBe(`"${sha256(produced)}"`);
    expect(report.headers.get('repr-digest')).toBe(`sha-256=:${Buffer.from(sha256(produced), 'hex').toString('base64')}:`);
    expect(report.json.report.jobs[0].validationResult[0].compliant).toBe(true);

    const month = new Date().toISOString().slice(0, 7);
    const audit = await archive.host.deps.audit.list(tenant, month, 1000);
    expect(audit.items.filter((e) => e.action === 'document.validate-rendition' && e.target === doc.id)).toEqual([
      expect.objectContaining({ actor: { subject: 'system:rendition-validator', kind: 'system' }, outcome: 'success', detail: 'veraPDF 1.28.2 PDF/A-2B: passed' }),
    ]);
  }, 120_000);

  it('a re-delivered message changes nothing: no new blob, no catalog change, no audit entry', async () => {
    const doc = await upload('img2pdf/gray.png', 'image/png');
    await drain();
    const month = new Date().toISOString().slice(0, 7);
    const before = { state: await tenantState(archive, tenant), item: await archive.host.deps.catalog.get(tenant, doc.id), auditSeq: (await archive.host.deps.audit.end(tenant, month)).seq };
    const stored = await archive.host.deps.catalog.get(tenant, doc.id);
    await deps.validationQueue.send([{ tenantId: tenant, documentId: doc.id, renditionSha256: stored!.rendition.sha256 }]);
    const again = await drain();
    expect(again.recorded).toEqual([]);
    expect(again.unchanged).toBe(1);
    expect(await tenantState(archive, tenant)).toEqual(before.state);
    expect(await archive.host.deps.catalog.get(tenant, doc.id)).toEqual(before.item);
    // The chain's true end, not its head: the head is a hint the instance moves up to 1 s after a round, so on a slow
    // machine it moved between the two reads with no entry written.
    expect((await archive.host.deps.audit.end(tenant, month)).seq).toBe(before.auditSeq);
  }, 120_000);

  it('a rendition without its OutputIntent shows passed: false with the rule ids, logged for the alert', async () => {
    const source = await upload('ocrmypdf/baiona_color.jpg', 'image/jpeg');
    const broken = await storeBrokenCopy(source.id);
    errors.length = 0;
    const run = await drain();
    const outcome = run.recorded.find((r) => r.documentId === broken.id)!;
    expect(outcome.passed).toBe(false);
    expect(outcome.failedRules.some((r) => r.startsWith('6.2.4.3'))).toBe(true);

    const shown = await getDoc(broken.id);
    expect(shown.validation).toMatchObject({ status: 'failed', passed: false, failedRules: outcome.failedRules });
    expect(errors).toContainEqual({ message: VALIDATION_FAILED, fields: expect.objectContaining({ documentId: broken.id, failedRules: outcome.failedRules }) });
    const report = await call(`${archive.url}/documents/${broken.id}/validation`, { token });
    expect(report.json.report.jobs[0].validationResult[0].compliant).toBe(false);
  }, 120_000);

  it('a malformed message and one delivered more than five times go to the poison queue', async () => {
    const queue = archive.host.deps.validationQueue;
    await queue.send([{ tenantId: tenant, documentId: 'not-json-at-all', renditionSha256: 'x' }]);
    const malformed = await drain();
    expect(malformed.poisoned).toBe(1);

    const doc = await upload('img2pdf/mono.png', 'image/png');
    await archive.host.deps.validationRequests.flush();
    let attempts = 0;
    const failing: RenditionValidator = { name: 'broken', validate: () => (attempts++, Promise.reject(new Error('JVM crashed'))), readReport: () => { throw new Error('unused'); } };
    let poisoned = 0;
    // Poll until the message is poisoned (it becomes visible again a second after each failed delivery).
    for (let pass = 0; pass < 60 && poisoned === 0; pass++) {
      await new Promise((r) => setTimeout(r, 1100));
      const r = await validateRenditions({ now: new Date(), max: 16, visibilitySeconds: 1 }, { ...deps, validator: failing }).catch(() => null);
      poisoned += r?.poisoned ?? 0;
    }
    expect(poisoned).toBe(1);
    expect(attempts).toBe(5); // five deliveries tried, the sixth poisoned
    const inPoison = (await queue.peekPoison()).flatMap((t) => (JSON.parse(t) as { requests: unknown[] }).requests);
    expect(inPoison).toContainEqual({ tenantId: tenant, documentId: doc.id, renditionSha256: expect.any(String) });
    expect(inPoison).toContainEqual(expect.objectContaining({ documentId: 'not-json-at-all' }));
    expect((await getDoc(doc.id)).validation).toEqual({ status: 'pending' });
  }, 120_000);

  it('Azure path: an outcome posted by the Java app is recorded only when the stored report matches its announced SHA-256', async () => {
    const doc = await upload('img2pdf/CMYK.jpg', 'image/jpeg');
    // The key the Java app signs its outcomes with (Key Vault in Azure; the local host has none: its Node worker validates).
    const key = 'cd'.repeat(32);
    const d = { ...archive.host.deps, secrets: new StaticSecretSource({ [archive.host.deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME]: key }) };
    const signed = (m: { tenantId: string; documentId: string; renditionSha256: string; reportBlobName: string; reportSha256: string }) => JSON.stringify({ ...m, signature: outcomeSignature(m, outcomeKey(key)) });
    const stored = (await d.catalog.get(tenant, doc.id))!;
    // What validator/ (ValidateRendition.java) writes: veraPDF's JSON report of the one rendition (same processor and format), then the outcome message.
    const rendition = await d.blobs.readAll(tenant, stored.rendition.blobName);
    const report = (await validator.validate([{ name: stored.rendition.blobName, bytes: rendition }])).results[0]!.report;
    await d.blobs.putCreateOnly(tenant, `${doc.id}/validation.json`, report, 'application/json', { retainUntil: stored.retention.retainUntil, legalHold: false }, {});
    const message = { tenantId: tenant, documentId: doc.id, renditionSha256: stored.rendition.sha256, reportBlobName: `${doc.id}/validation.json`, validatedAt: new Date().toISOString() };
    await expect(recordStoredOutcome(signed({ ...message, reportSha256: 'ab'.repeat(32) }), new Date(), d)).rejects.toThrow(/checksum/);
    expect((await getDoc(doc.id)).validation).toEqual({ status: 'pending' });
    expect(await recordStoredOutcome(signed({ ...message, reportSha256: sha256(report) }), new Date(), d)).toBe('recorded');
    expect(await recordStoredOutcome(signed({ ...message, reportSha256: sha256(report) }), new Date(), d)).toBe('unchanged');
    expect((await getDoc(doc.id)).validation).toMatchObject({ status: 'passed', validator: { name: 'veraPDF', version: '1.28.2' }, report: { sha256: sha256(report) } });
    expect((await call(`${archive.url}/documents/${doc.id}/validation`, { token })).bytes.equals(report)).toBe(true);
    await drain(); // its queued request now finds the outcome recorded
    expect((await getDoc(doc.id)).validation.report.sha256).toBe(sha256(report));
  }, 120_000);

  it('an upload whose validation request cannot be queued still succeeds; the maintenance pass queues it again', async () => {
    const emu = archive.emulators;
    // A queue endpoint that drops every connection, here on a port of our own. Port 9 was used: whatever a machine
    // does there (refuse, or accept and never answer) decided how long this took.
    const down = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const downQueue = emu.storageConnectionString.replace(/QueueEndpoint=http:\/\/127\.0\.0\.1:\d+/, `QueueEndpoint=http://127.0.0.1:${(down.address() as net.AddressInfo).port}`);
    const cut = await startTestArchive({ ARCHIVE_VALIDATION_QUEUE: queueName, STORAGE_CONNECTION_STRING: downQueue });
    try {
      const t = await cut.token({ tenant, sub: 'clerk@val.example', rights: 'archivist' });
      const up = await call(`${cut.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.png'), 'image/png', 'normal.png'), token: t });
      expect(up.status).toBe(201);
      expect(up.json.validation).toEqual({ status: 'pending' });
      await cut.host.deps.validationRequests.flush(); // its send fails and is logged; the upload is done either way
      expect((await drain()).recorded.map((r) => r.documentId)).not.toContain(up.json.id);

      const later = new Date(Date.now() + 3600_000);
      const { requeued } = await requeuePendingValidations({ now: later, olderThanSeconds: 900, max: 50, onlyTenant: tenant }, archive.host.deps);
      expect(requeued).toBeGreaterThanOrEqual(1);
      const run = await drain();
      expect(run.recorded).toContainEqual(expect.objectContaining({ documentId: up.json.id, passed: true }));
    } finally {
      await cut.stop();
      await new Promise((resolve) => down.close(resolve));
    }
  }, 120_000);

  it('a retention extension or legal hold placed while the report was being written reaches the report too', async () => {
    const doc = await upload('img2pdf/CMYK.tif', 'image/tiff');
    const d = archive.host.deps;
    const snapshot = (await d.catalog.get(tenant, doc.id))!; // what the worker read
    const later = new Date(Date.parse(snapshot.retention.retainUntil) + 365 * 86400_000).toISOString();
    const current = (await d.retention.catalog.getVersioned(tenant, doc.id))!;
    await d.retention.catalog.replace({ ...current.item, retention: { ...current.item.retention, retainUntil: later }, legalHold: true }, current.etag);
    const calls: string[] = [];
    const blobs = Object.create(d.blobs) as typeof d.blobs;
    blobs.extendRetention = async (_t, name, until) => void calls.push(`extend ${name} ${until}`);
    blobs.setLegalHold = async (_t, name, hold) => void calls.push(`hold ${name} ${hold}`);
    const report = Buffer.from('{}');
    await recordOutcome(snapshot, { validator: { name: 'veraPDF', version: '1.28.2' }, profile: 'PDF/A-2B', passed: true, failedRules: [] }, { blobName: `${doc.id}/validation.json`, bytes: report }, new Date(), { ...deps, blobs });
    expect(calls).toEqual([`extend ${doc.id}/validation.json ${later}`, `hold ${doc.id}/validation.json true`]);
  }, 120_000);

  it('a delivery after a crash between storing the report and recording it records the stored report, unchanged', async () => {
    const doc = await upload('derived/baiona-gray.jpg', 'image/jpeg');
    const d = archive.host.deps;
    const stored = (await d.catalog.get(tenant, doc.id))!;
    const earlier = (await validator.validate([{ name: stored.rendition.blobName, bytes: await d.blobs.readAll(tenant, stored.rendition.blobName) }])).results[0]!.report;
    await d.blobs.putCreateOnly(tenant, `${doc.id}/validation.json`, earlier, 'application/json', { retainUntil: stored.retention.retainUntil, legalHold: false }, {});
    const run = await drain();
    expect(run.recorded).toContainEqual({ tenantId: tenant, documentId: doc.id, passed: true, failedRules: [] });
    expect((await getDoc(doc.id)).validation.report).toEqual({ sha256: sha256(earlier), size: earlier.length });
    expect((await call(`${archive.url}/documents/${doc.id}/validation`, { token })).bytes.equals(earlier)).toBe(true);
  }, 120_000);

  it('one message carries several requests: the others are recorded while one that failed keeps the message for another delivery', async () => {
    const own = newTenant('valm');
    const ownToken = await archive.token({ tenant: own, sub: 'clerk@valm.example', rights: 'archivist' });
    const uploadOwn = async (file: string, type: string) => (await call(`${archive.url}/documents`, { ...rawUpload(corpusFile(file), type, path.basename(file)), token: ownToken })).json as { id: string };
    const [a, b] = [await uploadOwn('img2pdf/normal.png', 'image/png'), await uploadOwn('img2pdf/gray.png', 'image/png')];
    await drain(); // their own requests, recorded; both are set back to pending for this one message
    const d = archive.host.deps;
    for (const doc of [a, b]) {
      const current = (await d.retention.catalog.getVersioned(own, doc.id))!;
      await d.retention.catalog.replace({ ...current.item, validation: { status: 'pending' } }, current.etag);
    }
    const request = async (id: string) => ({ tenantId: own, documentId: id, renditionSha256: (await d.catalog.get(own, id))!.rendition.sha256 });
    await d.validationQueue.send([await request(a.id), await request(b.id)]);
    // b's catalog read fails once (a passing outage); a's does not.
    let failures = 0;
    const catalog = Object.create(d.catalog) as typeof d.catalog;
    catalog.get = (t, id) => (id === b.id && failures++ === 0 ? Promise.reject(new Error('Cosmos timed out')) : d.catalog.get(t, id));
    const pass = () => validateRenditions({ now: new Date(), max: 16, visibilitySeconds: 1 }, { ...deps, catalog });
    const first = await pass();
    expect(first).toMatchObject({ received: 1, retried: 1, poisoned: 0 });
    expect(first.recorded.map((r) => r.documentId)).toEqual([a.id]);
    await new Promise((r) => setTimeout(r, 1100)); // not completed: delivered again
    const second = await pass();
    expect(second).toMatchObject({ received: 1, retried: 0, unchanged: 1 });
    expect(second.recorded.map((r) => r.documentId)).toEqual([b.id]);
    await new Promise((r) => setTimeout(r, 1100)); // completed: never delivered again
    expect((await pass()).received).toBe(0);
  }, 120_000);

  it('a host asked to run the worker loop (npm start with a JDK) validates uploads by itself; test hosts do not', async () => {
    expect(archive.host.validating).toBe(false);
    const looping = await startTestArchive({ ARCHIVE_VALIDATION_QUEUE: `${queueName}-loop` }, undefined, { validator });
    try {
      expect(looping.host.validating).toBe(true);
      const t = await looping.token({ tenant, sub: 'clerk@val.example', rights: 'archivist' });
      const up = await call(`${looping.url}/documents`, { ...rawUpload(corpusFile('img2pdf/mono.tif'), 'image/tiff', 'mono.tif'), token: t });
      expect(up.status).toBe(201);
      let validation = up.json.validation;
      for (let i = 0; i < 120 && validation.status === 'pending'; i++) {
        await new Promise((r) => setTimeout(r, 500));
        validation = (await call(`${looping.url}/documents/${up.json.id}`, { token: t })).json.validation;
      }
      expect(validation).toMatchObject({ status: 'passed', passed: true });
    } finally {
      await looping.stop();
    }
  }, 120_000);
});

it('a veraPDF run that never answers is killed at its time limit: the worker is never held for ever', async () => {
  // A stand-in for veraPDF's CLI that never answers (a rendition it loops on), on a classpath of its own.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hanging-verapdf-'));
  try {
    const src = path.join(dir, 'org/verapdf/apps/GreenfieldCliWrapper.java');
    fs.mkdirSync(path.dirname(src), { recursive: true });
    fs.writeFileSync(src, 'package org.verapdf.apps; public class GreenfieldCliWrapper { public static void main(String[] a) throws Exception { Thread.sleep(120_000); } }');
    execFileSync('javac', ['-d', dir, src]);
    const hanging = new VeraPdfValidator({ classpath: dir }, { baseMs: 3000, perRenditionMs: 0 });
    await expect(hanging.validate([{ name: 'x/rendition.pdf', bytes: Buffer.from('%PDF-1.7\n') }])).rejects.toThrow(/time limit/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);

/** Test-only hook: a copy of a stored document whose rendition lost its OutputIntent (stored and catalogued like any other). */
async function storeBrokenCopy(sourceId: string): Promise<ArchivedDocument> {
  const d = archive.host.deps;
  const source = (await d.catalog.get(tenant, sourceId))!;
  const pdf = await PDFDocument.load(await d.blobs.readAll(tenant, source.rendition.blobName), { updateMetadata: false });
  pdf.catalog.delete(PDFName.of('OutputIntents'));
  const rendition = Buffer.from(await pdf.save({ useObjectStreams: false, updateFieldAppearances: false }));
  const id = uuidv7();
  const original = { ...source.original, blobName: `${id}/original.jpg` };
  const doc: ArchivedDocument = {
    ...source,
    id,
    contentKey: sha256(`broken:${id}`),
    original,
    originals: [original],
    rendition: { ...source.rendition, blobName: `${id}/rendition.pdf`, sha256: sha256(rendition), size: rendition.length },
  };
  const worm = { retainUntil: doc.retention.retainUntil, legalHold: false };
  await d.blobs.putCreateOnly(tenant, original.blobName, await d.blobs.readAll(tenant, source.original.blobName), original.mediaType, worm, {});
  await d.blobs.putCreateOnly(tenant, doc.rendition.blobName, rendition, 'application/pdf', worm, {});
  // Sealed as ingest writes it: the validation worker vouches only for a folder whose manifest is the archive's.
  await d.blobs.putCreateOnly(tenant, `${id}/manifest.json`, await sealedManifest(doc, d), 'application/json', worm, {});
  await d.catalog.create(doc);
  d.validationRequests.add(doc);
  return doc;
}

