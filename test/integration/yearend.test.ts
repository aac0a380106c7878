/**
 * Year-end walk-through (README, "Year-end for the accountant"), step by step: upload, search
 * case- and accent-insensitively by prefix, correct metadata (merge patch, If-Match, reason),
 * read the history, export with a Dutch CSV, and the small frictions on the way.
 */
import { call, multipart } from '../support/http';
import { corpusFile, depsForOnlyTenant, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedDocument } from '../support/seed';
import { reconcile } from '../../shared/retention/reconcile';

let archive: TestArchive;
let tenant: string;
let uploader: string;
let accountant: string;
let archivist: string;

const patch = (body: unknown, token: string, etag: string | null = '"metadata-1"') => ({
  method: 'PATCH',
  token,
  headers: { 'Content-Type': 'application/merge-patch+json', ...(etag ? { 'If-Match': etag } : {}) },
  body: JSON.stringify(body),
});

async function upload(file: string, metadata: unknown, token = uploader) {
  const res = await call(`${archive.url}/documents`, { method: 'POST', token, body: multipart([{ bytes: corpusFile(file), name: 'scan.jpg' }], metadata) });
  expect(res.status).toBe(201);
  return res.json as { id: string; metadataVersion: number; retention: { retainUntil: string; class: string }; rendition: { sha256: string }; original: { sha256: string } };
}

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('yearend');
  uploader = await archive.token({ tenant, sub: 'scanner@yearend.example', rights: 'uploader' });
  accountant = await archive.token({ tenant, sub: 'accountant@yearend.example', rights: 'accountant' });
  archivist = await archive.token({ tenant, sub: 'archivist@yearend.example', rights: 'archivist' });
});
afterAll(() => archive.stop());

describe('step 1: search by counterparty and reference, case- and accent-insensitively, by prefix', () => {
  let ids: Record<string, string>;
  beforeAll(async () => {
    const t = newTenant('search-keys');
    const deps = archive.host.deps;
    const docs = await Promise.all(
      [
        ['jansen', { counterparty: 'Bakkerij Jansen', reference: 'INV-2024-001' }],
        ['eve', { counterparty: 'Épicerie  Ève', reference: 'Ré-42' }],
        ['janssen', { counterparty: 'Janssen & Zn', reference: 'inv-2024-002' }],
      ].map(async ([name, metadata]) => [name, (await seedDocument(deps, t, { metadata: { ...(metadata as object), documentDate: '2024-05-01' } })).id] as const),
    );
    ids = Object.fromEntries(docs);
    searchToken = await archive.token({ tenant: t, sub: 'acc@search-keys.example', rights: 'accountant' });
  });
  let searchToken: string;
  const search = async (q: string) => {
    const res = await call(`${archive.url}/documents?${q}`, { token: searchToken });
    expect(res.status).toBe(200);
    return (res.json.items as { id: string }[]).map((d) => d.id).sort();
  };

  it.each([
    ['counterparty=bakkerij%20jansen', ['jansen']],
    ['counterparty=Bakkerij', ['jansen']],
    ['counterparty=BAKKERIJ%20%20JANS', ['jansen']],
    ['counterparty=epicerie%20eve', ['eve']],
    ['counterparty=%C3%89PICERIE', ['eve']],
    ['counterparty=jans', ['janssen']],
    ['reference=inv-2024', ['jansen', 'janssen']],
    ['reference=re-4', ['eve']],
    ['counterparty=akkerij', []],
  ])('%s', async (q, names) => {
    expect(await search(q)).toEqual(names.map((n) => ids[n]!).sort());
  });

  it('documents from before the keys get them from the reconciler (idempotent), and are found then', async () => {
    const t = newTenant('old-docs');
    const deps = archive.host.deps;
    const old = await seedDocument(deps, t, { metadata: { counterparty: 'Café Noir', documentDate: '2024-02-02' } });
    // As written before the keys existed.
    const container = deps.retention.catalog as unknown as { container: { item(id: string, pk: string): { replace(d: unknown): Promise<unknown> } } };
    const { counterpartyKey: _k, ...bare } = (await deps.catalog.get(t, old.id))!;
    await container.container.item(old.id, t).replace(bare);
    const tok = await archive.token({ tenant: t, sub: 'acc@old.example', rights: 'accountant' });
    expect((await call(`${archive.url}/documents?counterparty=cafe`, { token: tok })).json.items).toEqual([]);
    const run = async () => {
      const migrated: string[] = [];
      let continuation: string | null = null;
      do {
        const r = await reconcile({ now: new Date(), maxItems: 500, continuation }, depsForOnlyTenant(deps, t));
        migrated.push(...r.keysMigrated);
        continuation = r.continuation;
      } while (continuation);
      return migrated.filter((m) => m.startsWith(`${t}/`));
    };
    expect(await run()).toEqual([`${t}/${old.id}`]);
    expect(await run()).toEqual([]);
    expect((await call(`${archive.url}/documents?counterparty=cafe`, { token: tok })).json.items.map((d: { id: string }) => d.id)).toEqual([old.id]);
  });
});

describe('step 2: correct metadata with PATCH /documents/{id}/metadata', () => {
  it('a correction is a new metadata version with who, when, why and the diff; files and hashes never change; history lists every version', async () => {
    const doc = await upload('img2pdf/normal.jpg', { counterparty: 'Bakkerij Jansen', fiscalYear: 2024, kind: 'invoice', amount: 12.5, currency: 'EUR' });
    const read = await call(`${archive.url}/documents/${doc.id}`, { token: accountant });
    expect(read.headers.get('etag')).toBe('"metadata-1"');

    const res = await call(`${archive.url}/documents/${doc.id}/metadata`, patch({ reason: 'Typo in the counterparty; amount was 125', counterparty: 'Bakkerij Jansens', amount: 125, kind: null }, accountant));
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"metadata-2"');
    expect(res.json.metadata).toEqual({ counterparty: 'Bakkerij Jansens', fiscalYear: 2024, amount: 125, currency: 'EUR' });
    expect(res.json.rendition.sha256).toBe(doc.rendition.sha256);
    expect(res.json.original.sha256).toBe(doc.original.sha256);
    expect(res.json.retention).toEqual(doc.retention);
    expect(res.json.correction).toMatchObject({
      version: 2,
      by: { subject: 'accountant@yearend.example', person: 'accountant@yearend.example' },
      reason: 'Typo in the counterparty; amount was 125',
      changes: [
        { field: 'amount', from: 12.5, to: 125 },
        { field: 'counterparty', from: 'Bakkerij Jansen', to: 'Bakkerij Jansens' },
        { field: 'kind', from: 'invoice', to: null },
      ],
    });

    const history = await call(`${archive.url}/documents/${doc.id}/metadata/history`, { token: accountant });
    expect(history.status).toBe(200);
    expect(history.json.metadataVersion).toBe(2);
    expect(history.json.versions.map((v: { version: number; metadata: unknown }) => [v.version, v.metadata])).toEqual([
      [1, { counterparty: 'Bakkerij Jansen', fiscalYear: 2024, kind: 'invoice', amount: 12.5, currency: 'EUR' }],
      [2, { counterparty: 'Bakkerij Jansens', fiscalYear: 2024, amount: 125, currency: 'EUR' }],
    ]);

    // Found under its corrected name.
    const found = await call(`${archive.url}/documents?counterparty=bakkerij%20jansens`, { token: accountant });
    expect(found.json.items.map((d: { id: string }) => d.id)).toContain(doc.id);

    // The audit log names the correction (fields and digest, no values).
    const audit = await call(`${archive.url}/audit?action=document.correct-metadata`, { token: await archive.token({ tenant, sub: 'auditor@yearend.example', rights: 'auditor' }) });
    expect(audit.status).toBe(200);
    const entry = audit.json.items.find((e: { target: string }) => e.target === doc.id);
    expect(entry).toMatchObject({ outcome: 'success', actor: { person: 'accountant@yearend.example' } });
    expect(entry.detail).toMatch(/^metadata-version=2;fields=amount,counterparty,kind;sha256=[0-9a-f]{64}$/);
  });

  it('If-Match: a stale version is 412, none is 428; bad input is 400/415 and changes nothing', async () => {
    const doc = await upload('img2pdf/gray.png', { counterparty: 'Alpha', fiscalYear: 2024 });
    const url = `${archive.url}/documents/${doc.id}/metadata`;
    expect((await call(url, patch({ reason: 'r', reference: 'A-1' }, accountant))).status).toBe(200);
    const stale = await call(url, patch({ reason: 'r', reference: 'A-2' }, accountant));
    expect(stale.status).toBe(412);
    expect(stale.json).toMatchObject({ code: 'precondition_failed', metadataVersion: 2 });
    expect((await call(url, patch({ reason: 'r', reference: 'A-2' }, accountant, null))).json.code).toBe('precondition_required');
    expect((await call(url, patch({ reference: 'A-2' }, accountant, '"metadata-2"'))).json.code).toBe('bad_request');
    expect((await call(url, patch({ reason: 'r', fiscalYear: 'next' }, accountant, '"metadata-2"'))).json.code).toBe('invalid_metadata');
    expect((await call(url, patch({ reason: 'r', colour: 'red' }, accountant, '"metadata-2"'))).json.code).toBe('invalid_metadata');
    expect((await call(url, { ...patch({ reason: 'r', reference: 'A-2' }, accountant, '"metadata-2"'), headers: { 'Content-Type': 'application/json', 'If-Match': '"metadata-2"' } })).status).toBe(415);
    const after = await call(`${archive.url}/documents/${doc.id}`, { token: accountant });
    expect(after.json.metadata).toEqual({ counterparty: 'Alpha', fiscalYear: 2024, reference: 'A-1' });
    expect(after.json.metadataVersion).toBe(2);
  });

  it('a later fiscal year or a longer class lengthens retention on the blobs too; an earlier fiscal year is 422', async () => {
    const doc = await upload('img2pdf/mono.png', { counterparty: 'Beta', fiscalYear: 2024 });
    const url = `${archive.url}/documents/${doc.id}/metadata`;
    expect(doc.retention.retainUntil).toBe('2032-01-01T00:00:00.000Z');
    const shorter = await call(url, patch({ reason: 'wrong year', fiscalYear: 2023 }, accountant));
    expect(shorter.status).toBe(422);
    expect(shorter.json.code).toBe('retention_shortening_refused');

    const later = await call(url, patch({ reason: 'booked in 2025', fiscalYear: 2025 }, accountant));
    expect(later.status).toBe(200);
    expect(later.json.fiscalYear).toBe(2025);
    expect(later.json.retention.retainUntil).toBe('2033-01-01T00:00:00.000Z');
    expect(later.json.correction.retention).toEqual({ from: '2032-01-01T00:00:00.000Z', to: '2033-01-01T00:00:00.000Z' });
    // Kept in storage beside the manifest (Azurite), so a restored catalog gets it back.
    const kept = JSON.parse((await archive.host.deps.blobs.readAll(tenant, `${doc.id}/correction-002.json`)).toString('utf8'));
    expect(kept).toMatchObject({ documentId: doc.id, correction: { version: 2, reason: 'booked in 2025' }, fiscalYear: 2025, retention: { retainUntil: '2033-01-01T00:00:00.000Z' } });
    // A date years after the stated fiscal year would make that year a way to cut retention short: 400, nothing changes.
    const inconsistent = await call(url, patch({ reason: 'r', documentDate: '2030-05-01' }, accountant, '"metadata-2"'));
    expect([inconsistent.status, inconsistent.json.code, inconsistent.json.errors?.[0]?.path]).toEqual([400, 'invalid_metadata', 'fiscalYear']);

    // Every blob's immutability is extended (before the catalog says so), the correction kept beside them included.
    const extended = jest.spyOn(archive.host.deps.blobs, 'extendRetention');
    const longer = await call(url, patch({ reason: 'property purchase', retentionClass: 'immovable-property-10y' }, archivist, '"metadata-2"'));
    expect(longer.status).toBe(200);
    expect(longer.json.retention).toMatchObject({ class: 'immovable-property-10y', retainUntil: '2036-01-01T00:00:00.000Z' });
    expect(extended.mock.calls.map((c) => [c[1], c[2]]).sort()).toEqual(
      [`${doc.id}/correction-002.json`, `${doc.id}/manifest.json`, `${doc.id}/original.png`, `${doc.id}/rendition.pdf`].map((n) => [n, '2036-01-01T00:00:00.000Z']),
    );
    extended.mockRestore();
    // Back to the shorter class: refused.
    const back = await call(url, patch({ reason: 'r', retentionClass: 'fiscal-7y' }, archivist, '"metadata-3"'));
    expect(back.json.code).toBe('retention_shortening_refused');
  });

  it('needs documents:correct (the uploader may not), and another tenant gets 404', async () => {
    const doc = await upload('img2pdf/normal.png', { counterparty: 'Gamma' });
    const url = `${archive.url}/documents/${doc.id}/metadata`;
    const refused = await call(url, patch({ reason: 'r', reference: 'X' }, uploader));
    expect(refused.status).toBe(403);
    expect(refused.json.permission).toBe('documents:correct');
    const other = await archive.token({ tenant: newTenant('other'), sub: 'acc@other.example', rights: 'accountant' });
    expect((await call(url, patch({ reason: 'r', reference: 'X' }, other))).status).toBe(404);
  });
});

describe('what changed since an export: correctedSince', () => {
  let t: string;
  let acc: string;
  let since: string;
  const ids: Record<string, string> = {};
  const correct = async (name: string, body: Record<string, unknown>, version = 1) => {
    const res = await call(`${archive.url}/documents/${ids[name]}/metadata`, patch({ reason: `fix ${name}`, ...body }, acc, `"metadata-${version}"`));
    expect(res.status).toBe(200);
    return res.json as { correctedAt?: string };
  };
  const search = async (q: string) => {
    const res = await call(`${archive.url}/documents?${q}`, { token: acc });
    expect(res.status).toBe(200);
    const names = Object.fromEntries(Object.entries(ids).map(([n, id]) => [id, n]));
    return (res.json.items as { id: string }[]).map((d) => names[d.id] ?? d.id).sort();
  };

  beforeAll(async () => {
    t = newTenant('corrected-since');
    acc = await archive.token({ tenant: t, sub: 'acc@corrected-since.example', rights: 'accountant' });
    const deps = archive.host.deps;
    for (const [name, fiscalYear] of [['early', 2024], ['amount', 2024], ['moved', 2024], ['untouched', 2024], ['later', 2025]] as const) {
      ids[name] = (await seedDocument(deps, t, { metadata: { counterparty: `Supplier ${name}`, amount: 10, currency: 'EUR' }, fiscalYear })).id;
    }
    await correct('early', { amount: 11 }); // before the export
    await new Promise((r) => setTimeout(r, 5));
    since = new Date().toISOString(); // the export of 2024 is made here
    await new Promise((r) => setTimeout(r, 5));
    expect((await correct('amount', { amount: 12.5 })).correctedAt! >= since).toBe(true);
    await correct('moved', { fiscalYear: 2025 });
    await correct('later', { reference: 'R-1' });
  });

  it('finds the documents corrected since a moment; with a fiscal year, also those corrected out of it', async () => {
    expect(await search(`fiscalYear=2024&correctedSince=${encodeURIComponent(since)}`)).toEqual(['amount', 'moved']);
    expect(await search(`fiscalYear=2025&correctedSince=${encodeURIComponent(since)}`)).toEqual(['later', 'moved']);
    expect(await search(`correctedSince=${encodeURIComponent(since)}`)).toEqual(['amount', 'later', 'moved']);
    // Without it, a fiscal year is the one the document is in now.
    expect(await search('fiscalYear=2024')).toEqual(['amount', 'early', 'untouched']);
    // A plain date is its start (UTC); an offset is honoured.
    expect(await search('fiscalYear=2024&correctedSince=2000-01-01')).toEqual(['amount', 'early', 'moved']);
    expect(await search(`correctedSince=${encodeURIComponent('2999-01-01T01:00:00+01:00')}`)).toEqual([]);
    const bad = await call(`${archive.url}/documents?correctedSince=yesterday`, { token: acc });
    expect([bad.status, bad.json.code, bad.json.errors?.[0]?.path]).toEqual([400, 'invalid_query', 'correctedSince']);
  });

  it('an export of what changed since holds exactly those documents, and keeps the filter', async () => {
    const res = await call(`${archive.url}/exports`, { method: 'POST', token: acc, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2024, correctedSince: since }) });
    expect(res.status).toBe(202);
    expect(res.json.progress.total).toBe(2);
    expect(res.json.filter).toEqual({ fiscalYear: 2024, correctedSince: since });
  });

  it('a document corrected before the fields existed gets them from the reconciler (its current year only), and is found then', async () => {
    const deps = archive.host.deps;
    const container = deps.retention.catalog as unknown as { container: { item(id: string, pk: string): { replace(d: unknown): Promise<unknown> } } };
    const { correctedAt: _a, fiscalYearsEver: _y, ...bare } = (await deps.catalog.get(t, ids.amount!))!;
    await container.container.item(ids.amount!, t).replace(bare);
    expect(await search(`fiscalYear=2024&correctedSince=${encodeURIComponent(since)}`)).toEqual(['moved']);
    let continuation: string | null = null;
    const migrated: string[] = [];
    do {
      const r = await reconcile({ now: new Date(), maxItems: 500, continuation }, depsForOnlyTenant(deps, t));
      migrated.push(...r.keysMigrated);
      continuation = r.continuation;
    } while (continuation);
    expect(migrated.filter((m) => m.startsWith(`${t}/`))).toEqual([`${t}/${ids.amount}`]);
    expect(await search(`fiscalYear=2024&correctedSince=${encodeURIComponent(since)}`)).toEqual(['amount', 'moved']);
  });

  it("an export's witness (idsUnchangedSince): the archived documents matching its search that the store last wrote before an instant, by the store's own clock", async () => {
    const deps = archive.host.deps;
    const names = (found: string[]) => found.map((id) => Object.entries(ids).find(([, v]) => v === id)?.[0] ?? id).sort();
    // One just written is not witnessed (a walk begun now may or may not meet it); 30 s of clock skew are allowed for.
    ids.fresh = (await seedDocument(deps, t, { metadata: { counterparty: 'Supplier fresh' }, fiscalYear: 2024 })).id;
    expect(await deps.catalog.idsUnchangedSince(t, { fiscalYear: 2024 }, new Date())).not.toContain(ids.fresh);
    // A walk begun later must meet every one: the search's filter applies, tombstones and other tenants are left out.
    ids.gone = (await seedDocument(deps, t, { metadata: { counterparty: 'Supplier gone' }, fiscalYear: 2024 })).id;
    const read = (await deps.retention.catalog.getVersioned(t, ids.gone))!;
    expect(await deps.retention.catalog.replace({ ...read.item, status: 'disposed' } as never, read.etag)).not.toBe('conflict');
    const later = new Date(Date.now() + 31_000);
    expect(names(await deps.catalog.idsUnchangedSince(t, { fiscalYear: 2024 }, later))).toEqual(['amount', 'early', 'fresh', 'untouched']);
    expect(names(await deps.catalog.idsUnchangedSince(t, { fiscalYear: 2024, correctedSince: since }, later))).toEqual(['amount', 'moved']);
    expect(names(await deps.catalog.idsUnchangedSince(t, { counterparty: 'supplier l' }, later))).toEqual(['later']);
    expect(await deps.catalog.idsUnchangedSince(newTenant('nobody'), {}, later)).toEqual([]);
  });
});

describe('raw uploads carry metadata; a retry with other metadata is refused, not replayed', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const raw = (bytes: Buffer, headers: Record<string, string>, query = '') =>
    call(`${archive.url}/documents${query}`, { method: 'POST', token: uploader, body: new Uint8Array(bytes), headers: { 'Content-Type': 'image/png', ...headers } });

  it('Archive-Metadata (base64url JSON) and ?metadata= are stored; bad ones are 400 and store nothing', async () => {
    const a = await raw(corpusFile('ocrmypdf/crom.png'), { 'Archive-Metadata': b64({ counterparty: 'Bäckerei Müller', fiscalYear: 2024 }) });
    expect(a.status).toBe(201);
    expect(a.json.metadata).toEqual({ counterparty: 'Bäckerei Müller', fiscalYear: 2024 });
    const q = encodeURIComponent(JSON.stringify({ reference: 'Q-1' }));
    const b = await raw(corpusFile('derived/baiona-16bit.png'), {}, `?metadata=${q}`);
    expect(b.status).toBe(201);
    expect(b.json.metadata).toEqual({ reference: 'Q-1' });
    for (const bad of [{ 'Archive-Metadata': 'not base64!' }, { 'Archive-Metadata': b64('{') .slice(0, 2) }, { 'Archive-Metadata': b64({ colour: 'red' }) }]) {
      const res = await raw(corpusFile('derived/baiona-interlaced.png'), bad);
      expect(res.status).toBe(400);
      expect(res.json.code).toBe('invalid_metadata');
    }
  });

  it('the same Idempotency-Key and files with corrected metadata: 422 naming the difference; the same request replays', async () => {
    const bytes = corpusFile('ocrmypdf/baiona_alpha.png');
    const key = `yearend-${Date.now()}`;
    const first = await raw(bytes, { 'Idempotency-Key': key, 'Archive-Metadata': b64({ counterparty: 'Delta', fiscalYear: 2024 }) });
    expect(first.status).toBe(201);
    const again = await raw(bytes, { 'Idempotency-Key': key, 'Archive-Metadata': b64({ counterparty: 'Delta', fiscalYear: 2024 }) });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const corrected = await raw(bytes, { 'Idempotency-Key': key, 'Archive-Metadata': b64({ counterparty: 'Delta BV', fiscalYear: 2025 }) });
    expect(corrected.status).toBe(422);
    expect(corrected.json).toMatchObject({ code: 'idempotency_key_reused', documentId: first.json.id, differences: ['counterparty', 'fiscalYear'] });
    expect(corrected.json.detail).toContain(`PATCH /documents/${first.json.id}/metadata`);
  });
});

describe('friction', () => {
  it('a UTF-8 filename="…" and an RFC 5987 filename* are stored as sent', async () => {
    const latin1OfUtf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
    const a = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: new Uint8Array(corpusFile('derived/baiona-gray.jpg')), headers: { 'Content-Type': 'image/jpeg', 'Content-Disposition': latin1OfUtf8('attachment; filename="Factuur café 2024 – €.jpg"') } });
    expect(a.status).toBe(201);
    expect(a.json.original.fileName).toBe('Factuur café 2024 – €.jpg');
    const b = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: new Uint8Array(corpusFile('derived/baiona-progressive.jpg')), headers: { 'Content-Type': 'image/jpeg', 'Content-Disposition': `attachment; filename="fallback.jpg"; filename*=UTF-8''${encodeURIComponent('Bon Ève.jpg')}` } });
    expect(b.json.original.fileName).toBe('Bon Ève.jpg');
  });

  it('the 409 for a duplicate names its location under /api', async () => {
    const bytes = corpusFile('img2pdf/normal.jpg');
    const dup = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: new Uint8Array(bytes), headers: { 'Content-Type': 'image/jpeg' } });
    expect(dup.status).toBe(409);
    expect(dup.json.location).toBe(`/api/documents/${dup.json.documentId}`);
  });

  it('GET /retention/policy output is accepted back by PUT, with its ETag as If-Match; the PUT answers the next', async () => {
    const admin = await archive.token({ tenant, sub: 'admin@yearend.example', rights: 'tenant-admin' });
    const read = await call(`${archive.url}/retention/policy`, { token: admin });
    expect(read.json).toHaveProperty('effectiveClasses');
    const put = await call(`${archive.url}/retention/policy`, { method: 'PUT', token: admin, headers: { 'Content-Type': 'application/json', 'If-Match': read.headers.get('etag')! }, body: JSON.stringify(read.json) });
    expect(put.status).toBe(200);
    const again = await call(`${archive.url}/retention/policy`, { method: 'PUT', token: admin, headers: { 'Content-Type': 'application/json', 'If-Match': put.headers.get('etag')! }, body: JSON.stringify(put.json) });
    expect(again.status).toBe(200);
  });

  it('GET /audit?from= accepts a plain date', async () => {
    const auditor = await archive.token({ tenant, sub: 'auditor@yearend.example', rights: 'auditor' });
    const today = new Date().toISOString().slice(0, 10);
    const res = await call(`${archive.url}/audit?from=${today}&to=${today}`, { token: auditor });
    expect(res.status).toBe(200);
    expect(res.json.items.length).toBeGreaterThan(0);
  });

  it('a type lie (TIFF sent as image/jpeg) is archived as the sniffed type, and original.mediaType says so', async () => {
    const res = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: new Uint8Array(corpusFile('img2pdf/mono.tif')), headers: { 'Content-Type': 'image/jpeg' } });
    expect(res.status).toBe(201);
    expect(res.json.original.mediaType).toBe('image/tiff');
  });
});

describe('lists: GET /exports and GET /legal-holds?status=open', () => {
  it('GET /exports: the tenant\'s exports, newest first, paged; another tenant sees none', async () => {
    const post = (body: unknown) => call(`${archive.url}/exports`, { method: 'POST', token: accountant, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const first = await post({ fiscalYear: 2024 });
    const second = await post({ fiscalYear: 2025 });
    expect([first.status, second.status]).toEqual([202, 202]);
    const page1 = await call(`${archive.url}/exports?limit=1`, { token: accountant });
    expect(page1.status).toBe(200);
    expect(page1.json.items.map((e: { id: string }) => e.id)).toEqual([second.json.id]);
    const page2 = await call(`${archive.url}/exports?limit=1&continuationToken=${page1.json.continuationToken}`, { token: accountant });
    expect(page2.json.items.map((e: { id: string }) => e.id)).toEqual([first.json.id]);
    const other = await archive.token({ tenant: newTenant('other'), sub: 'acc@other.example', rights: 'accountant' });
    expect((await call(`${archive.url}/exports`, { token: other })).json.items).toEqual([]);
  });

  it('GET /legal-holds?status=open lists open holds, not released ones', async () => {
    const doc = await upload('ocrmypdf/baiona_color.jpg', { counterparty: 'Held BV' });
    const placed = await call(`${archive.url}/documents/${doc.id}/legal-holds`, { method: 'POST', token: archivist, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: 'tax audit', caseReference: 'BD-2025-7' }) });
    expect(placed.status).toBe(201);
    const list = await call(`${archive.url}/legal-holds?status=open`, { token: accountant });
    expect(list.status).toBe(200);
    expect(list.json.items).toEqual(expect.arrayContaining([expect.objectContaining({ documentId: doc.id, id: placed.json.id, caseReference: 'BD-2025-7' })]));
    expect((await call(`${archive.url}/legal-holds`, { token: accountant })).status).toBe(400);
  });
});
