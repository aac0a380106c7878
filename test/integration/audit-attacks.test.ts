/**
 * The audit log attacked from a valid account against the local host: its entries' attribution (a forged client
 * address, a hostile User-Agent sent as raw bytes), a success hidden in a run of refusals answered 429, a HEAD that
 * hands out a usable link, and the verification's verdict raced by the tenant's own requests. Found a break: a verification whose first page was read while an append
 * of this instance was answered reported a cut tail (`truncated`, claimed by the high-water mark) that did not happen
 * (shared/audit/seal.ts).
 */
import * as net from 'node:net';
import { AuditLog } from '../../shared/adapters/azure/audit-log';
import { verifyAuditMonth } from '../../shared/audit/seal';
import type { AuditInput } from '../../shared/ports';
import { call, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
let tenant: string;
let token: string;
let doc: string;
const scan = corpusFile('ocrmypdf/baiona_color.jpg');
const month = () => new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('audit-attacks');
  token = await archive.token({ tenant, sub: 'mallory@attacks.example', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { ...rawUpload(scan, 'image/jpeg', 'receipt.jpg'), token });
  expect(up.status).toBe(201);
  doc = up.json.id;
});
afterAll(() => archive.stop());

/** The tenant's entries of this month that a request with this id wrote. */
const entriesOf = async (requestId: string | null) => (await archive.host.deps.audit.all(tenant, month())).filter((e) => e.requestId === requestId);

/** One request over a plain socket, its header bytes exactly as given: what fetch will not send (raw UTF-8 in a header). */
function rawRequest(head: Buffer): Promise<{ status: number; requestId: string | null }> {
  const { port } = new URL(archive.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(head));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), requestId: /\r\nx-request-id: ([^\r]+)/i.exec(text)?.[1] ?? null });
    });
  });
}

describe('who and from where', () => {
  it('no header the client sends names the address an entry records: the local host records the socket\'s, for a read, a refusal and a download alike', async () => {
    const forged = {
      'X-Forwarded-For': '198.51.100.66',
      Forwarded: 'for=198.51.100.67',
      'X-Real-IP': '198.51.100.68',
      'X-Client-IP': '198.51.100.69',
      'True-Client-IP': '198.51.100.70',
      'X-Azure-ClientIP': '198.51.100.71',
      'X-Azure-SocketIP': '198.51.100.72',
      'CF-Connecting-IP': '198.51.100.73',
    };
    const answers = [
      await call(`${archive.url}/documents/${doc}`, { token, headers: forged }),
      await call(`${archive.url}/documents/not-a-document-${Date.now()}`, { token, headers: forged }),
      await call(`${archive.url}/documents/${doc}/original`, { token, headers: forged }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 404, 200]);
    for (const a of answers) {
      const [entry, ...more] = await entriesOf(a.headers.get('x-request-id'));
      expect(more).toEqual([]);
      expect(entry!.clientIp).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    }
  });

  it('a User-Agent of raw UTF-8 bytes (a bidi override, C1 controls as Node reads them) and 10 kB long is kept as one bounded line', async () => {
    const agent = Buffer.concat([Buffer.from('Mozilla/5.0 '), Buffer.from('\u202Efdp.exe\u2066', 'utf8'), Buffer.from('\u0085\u009b2J', 'latin1'), Buffer.alloc(10_000, 'A')]);
    const head = Buffer.concat([
      Buffer.from(`GET /api/documents/${doc} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\nUser-Agent: `),
      agent,
      Buffer.from('\r\n\r\n'),
    ]);
    const sent = await rawRequest(head);
    expect(sent.status).toBe(200);
    const [entry, ...more] = await entriesOf(sent.requestId);
    expect(more).toEqual([]);
    const ua = entry!.userAgent!;
    expect(ua.startsWith('Mozilla/5.0 ')).toBe(true);
    expect([...ua].length).toBe(301); // 300 characters and the ellipsis
    expect(ua.endsWith('…')).toBe(true);
    // Nothing that shows as other text or moves the reader's cursor: no C0/C1 control, bidi control or line separator.
    expect(ua).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/);
    // As an auditor reads it back.
    const read = await call(`${archive.url}/audit?actor=${encodeURIComponent('mallory@attacks.example')}&limit=500`, { token: await archive.token({ tenant, sub: 'auditor@attacks.example', rights: 'auditor' }) });
    expect(read.json.items.find((e: { requestId: string }) => e.requestId === sent.requestId)?.userAgent).toBe(ua);
  });
});

describe('what was handed out', () => {
  it('a download in the middle of a run of refusals answered 429 is served and has its own entry; every refusal is an entry or counted in one', async () => {
    const sub = `flood-${Date.now()}@attacks.example`;
    const flooder = await archive.token({ tenant, sub, rights: 'archivist' });
    const refuse = () => call(`${archive.url}/documents/no-such-${Math.random().toString(36).slice(2)}`, { token: flooder });
    const refused: Awaited<ReturnType<typeof call>>[] = [];
    for (let i = 0; i < 40; i++) refused.push(await refuse());
    const download = await call(`${archive.url}/documents/${doc}/original`, { token: flooder });
    for (let i = 0; i < 5; i++) refused.push(await refuse());
    expect(refused.slice(-5).map((r) => r.status)).toEqual([429, 429, 429, 429, 429]);
    expect(sha256hex(download.bytes)).toBe(sha256hex(scan));
    const closing = await call(`${archive.url}/documents/${doc}`, { token: flooder }); // the person's next audited request carries the count
    expect(closing.status).toBe(200);
    const mine = (await archive.host.deps.audit.all(tenant, month())).filter((e) => e.actor.subject === sub);
    const [served] = mine.filter((e) => e.requestId === download.headers.get('x-request-id'));
    expect(served).toMatchObject({ action: 'document.download-original', outcome: 'success', status: 200, detail: `sha256=${sha256hex(scan)}` });
    const own = mine.filter((e) => e.outcome === 'refused' && e.action !== 'access.refusals-suppressed');
    const counts = mine.filter((e) => e.action === 'access.refusals-suppressed');
    const counted = counts.reduce((n, e) => n + Number(/suppressed=(\d+)/.exec(e.detail!)![1]), 0);
    expect(counts.length).toBeGreaterThan(0);
    expect(own.length + counted).toBe(refused.length);
    // Each refusal's own entry is its answer's; no count swallowed a success.
    expect(own.every((e) => refused.some((r) => r.headers.get('x-request-id') === e.requestId && r.status === e.status))).toBe(true);
    expect(mine.filter((e) => e.outcome === 'success').map((e) => e.requestId).sort()).toEqual([download.headers.get('x-request-id'), closing.headers.get('x-request-id')].sort());
  });

  it('a HEAD with ?delivery=redirect hands out a link that reads the file: its one entry says until when', async () => {
    const head = await call(`${archive.url}/documents/${doc}/original?delivery=redirect`, { method: 'HEAD', token, redirect: 'manual' });
    expect(head.status).toBe(303);
    const link = head.headers.get('location')!;
    const bytes = Buffer.from(await (await fetch(link)).arrayBuffer());
    expect(sha256hex(bytes)).toBe(sha256hex(scan));
    const [entry, ...more] = await entriesOf(head.headers.get('x-request-id'));
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ action: 'document.download-original', outcome: 'success', status: 303, target: doc });
    expect(entry!.detail).toBe(`head;sha256=${sha256hex(scan)};link-until=${head.headers.get('link-expires')}`);
  });
});

describe('the verification\'s verdict', () => {
  it('an append of this instance answered while the verification\'s first page is on its way is no cut tail (a month of one page, its tenant busy)', async () => {
    const busy = newTenant('audit-race');
    const auditor = await archive.token({ tenant: busy, sub: 'auditor-1', rights: 'auditor' });
    for (let i = 0; i < 3; i++) await call(`${archive.url}/documents?limit=1`, { token: auditor });
    const { cosmos } = archive.host.deps;
    const entry = (n: number): AuditInput => ({ tenantId: busy, at: new Date().toISOString(), actor: { subject: 'auditor-1', kind: 'user', person: 'auditor-1' }, action: 'document.list', target: null, outcome: 'success', status: 200, requestId: `race-${n}-${Date.now()}`, clientIp: '198.51.100.9', userAgent: 'race' });
    let raced = 0;
    // One instance's log over the real audit container, whose chain read is answered only after another request's
    // append was: on the wire, the create's answer came in before the page's.
    const container = {
      items: {
        create: (...a: Parameters<typeof cosmos.audit.items.create>) => cosmos.audit.items.create(...a),
        batch: (...a: Parameters<typeof cosmos.audit.items.batch>) => cosmos.audit.items.batch(...a),
        query: (...a: Parameters<typeof cosmos.audit.items.query>) => {
          const q = cosmos.audit.items.query(...a);
          if (!JSON.stringify(a[0]).includes('ORDER BY c.id')) return q;
          return {
            hasMoreResults: () => q.hasMoreResults(),
            fetchNext: async () => {
              const page = await q.fetchNext();
              await log.appendBatch([entry(++raced)]);
              return page;
            },
          };
        },
      },
      item: (id: string, pk: string) => cosmos.audit.item(id, pk),
    } as unknown as typeof cosmos.audit;
    const log: AuditLog = new AuditLog(container, cosmos.tenants, archive.host.deps.audit.chainKey);
    await log.appendBatch([entry(0)]); // this instance serves the tenant: it has written to the month
    const report = await verifyAuditMonth(busy, month(), { audit: log, blobs: archive.host.deps.blobs, log: archive.host.deps.log });
    expect(raced).toBe(1);
    expect(report).toMatchObject({ ok: true, entries: 4, problems: [] });
    // Still caught: the tail cut after that (the entry the race appended, seq 5, deleted by whoever can write the container).
    await cosmos.audit.item('000000000005', `${busy}:${month()}`).delete();
    const cut = await verifyAuditMonth(busy, month(), { audit: new AuditLog(cosmos.audit, cosmos.tenants, archive.host.deps.audit.chainKey), blobs: archive.host.deps.blobs, log: archive.host.deps.log });
    expect(cut.problems).toEqual([]); // another instance knows nothing of seq 5 (the README's remaining window) ...
    const own = await verifyAuditMonth(busy, month(), { audit: log, blobs: archive.host.deps.blobs, log: archive.host.deps.log });
    expect(own.problems).toEqual([{ kind: 'truncated', chainEnd: 4, expectedSeq: 5, claimedBy: ['high-water'] }]); // ... the one that wrote it does
  });
});
