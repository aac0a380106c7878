import type { Principal } from '../../../shared/kernel/principal';
import { correctMetadata, MAX_CORRECTIONS } from '../../../shared/documents/correct-metadata';
import { ArchiveError } from '../../../shared/kernel/errors';
import { parseMetadata } from '../../../shared/kernel/document';
import { resolveRetention } from '../../../shared/retention/policy';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { setPolicyWithSecondPerson } from '../../support/retention-policy';

const T = 'acme';
const accountant: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'accountant', permissions: new Set(['documents:correct']) };
const codeOf = async (p: Promise<unknown>) => p.then(() => null, (e: ArchiveError) => e.code);

describe('metadata text shows what it is', () => {
  it.each([
    ['an escape sequence', { counterparty: 'Acme\u001b[2J BV' }, 'counterparty', 'U+001B'],
    ['a line break', { reference: 'INV-1\nINV-2' }, 'reference', 'U+000A'],
    ['a right-to-left override', { reference: 'INV-\u202e1004' }, 'reference', 'U+202E'],
    ['an isolate in a tag', { tags: ['q1', 'x\u2066y'] }, 'tags.1', 'U+2066'],
    ['a zero-width space that makes one counterparty look like another', { counterparty: 'Acme\u200b BV' }, 'counterparty', 'U+200B'],
    ['a soft hyphen', { reference: 'INV\u00ad-1004' }, 'reference', 'U+00AD'],
  ])('refuses %s (400 naming the field and the character)', (_what, metadata, path, character) => {
    const refusal = (() => {
      try {
        parseMetadata(metadata);
      } catch (e) {
        return e;
      }
    })();
    expect(refusal).toMatchObject({ code: 'invalid_metadata', extensions: { errors: [{ path, message: expect.stringContaining(`must not contain ${character}`) }] } });
  });
  it('keeps the marks Hebrew and Arabic names use', () => {
    expect(parseMetadata({ counterparty: '\u200fשלום בע״מ' }).counterparty).toBe('\u200fשלום בע״מ');
  });
  it('keeps text in NFC: a decomposed é is the composed one', () => {
    expect(parseMetadata({ counterparty: 'Cafe\u0301 Noir' }).counterparty).toBe('Caf\u00e9 Noir');
  });
});

describe('document dates far out', () => {
  it('a date after 2200 is invalid metadata: its retain-until would be an extended ISO year (+010008-…) that sorts before every real date', async () => {
    const deps = inMemoryDeps();
    const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-03-01' } });
    for (const documentDate of ['9999-12-31', '2201-01-01']) {
      expect(await codeOf(correctMetadata({ principal: accountant, documentId: doc.id, patch: { documentDate }, reason: 'typo', ifMatch: 1 }, deps))).toBe('invalid_metadata');
      expect(() => parseMetadata({ documentDate })).toThrow(ArchiveError);
    }
    expect((await deps.catalog.get(T, doc.id))!.metadataVersion ?? 1).toBe(1);
  });

  it('the last date accepted still gives a four-digit retain-until under the longest class a tenant may define', () => {
    const policy = { classes: [{ name: 'century', years: 100 }], defaultClass: 'century', requireDisposalApproval: false, fiscalYearEndMonth: 1 };
    const { retention } = resolveRetention(policy, parseMetadata({ documentDate: '2200-12-31' }), new Date());
    expect(retention.retainUntil).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});

describe('metadata history growth', () => {
  it(`past ${MAX_CORRECTIONS} corrections a document takes no more (409 too_many_corrections), so its catalog item stays far below the 2 MB Cosmos takes, and holds and disposal can still write it`, async () => {
    const deps = inMemoryDeps();
    const doc = await seedDocument(deps, T, { metadata: { reference: 'R-0' } });
    const big = 'x'.repeat(196);
    for (let v = 1; v <= MAX_CORRECTIONS; v++) {
      await correctMetadata({ principal: accountant, documentId: doc.id, patch: { reference: `R-${v}`, counterparty: `${big}${v}`, tags: Array.from({ length: 20 }, (_, i) => `${'t'.repeat(44)}${v}-${i}`) }, reason: 'r'.repeat(500), ifMatch: v }, deps);
    }
    const refused = await correctMetadata({ principal: accountant, documentId: doc.id, patch: { reference: 'one more' }, reason: 'again', ifMatch: MAX_CORRECTIONS + 1 }, deps).catch((e: ArchiveError) => e);
    expect(refused).toMatchObject({ code: 'too_many_corrections' });
    const stored = (await deps.catalog.get(T, doc.id))!;
    expect(stored.metadataVersion).toBe(MAX_CORRECTIONS + 1);
    // The largest corrections the API accepts, 100 of them: well under Cosmos's 2 MB item limit.
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(1_000_000);
  });
});

describe('a correction after the tenant moved its fiscal-year end', () => {
  const manager: Principal = { tenantId: T, subject: 'rm', kind: 'user', person: 'rm', rightsSet: 'records', permissions: new Set(['retention:manage']) };
  const june = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: 6 };

  it('keeps the document in its fiscal year when it touches neither the year nor the date, and refuses to move it to an earlier one', async () => {
    const deps = inMemoryDeps();
    await setPolicyWithSecondPerson(manager, june, deps);
    // A July 2024 invoice of a year ending in June: fiscal year 2025.
    const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-07-15', counterparty: 'Acme' }, fiscalYear: 2025 });
    await setPolicyWithSecondPerson(manager, { ...june, fiscalYearEndMonth: 12 }, deps);
    const { document } = await correctMetadata({ principal: accountant, documentId: doc.id, patch: { counterparty: 'Acme BV' }, reason: 'typo', ifMatch: 1 }, deps);
    expect(document.fiscalYear).toBe(2025);
    // Still what a legal hold on fiscal year 2025 (a tax audit of that year) finds.
    expect((await deps.retention.catalog.matching(T, { fiscalYear: 2025 }, 10)).items.map((d) => d.id)).toEqual([doc.id]);
    // A date fix that would put it in fiscal year 2024 under the new year end moves it to a year disposed of sooner.
    expect(await codeOf(correctMetadata({ principal: accountant, documentId: doc.id, patch: { documentDate: '2024-07-16' }, reason: 'typo', ifMatch: 2 }, deps))).toBe('retention_shortening_refused');
    const fixed = await correctMetadata({ principal: accountant, documentId: doc.id, patch: { documentDate: '2024-07-16', fiscalYear: 2025 }, reason: 'typo', ifMatch: 2 }, deps);
    expect(fixed.document.fiscalYear).toBe(2025);
  });
});

describe('a correction of a document whose class the tenant has since removed', () => {
  const manager: Principal = { tenantId: T, subject: 'rm', kind: 'user', person: 'rm', rightsSet: 'records', permissions: new Set(['retention:manage']) };
  const base = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: 12 };

  it('is judged by the years that class kept: a counterparty fix goes through, a move to an earlier year is refused, no other document may be moved into the class', async () => {
    const deps = inMemoryDeps();
    await setRetentionPolicy(manager, { ...base, classes: [{ name: 'contracts-12y', years: 12 }] }, deps);
    const seeded = await seedDocument(deps, T, { metadata: { documentDate: '2024-07-15', counterparty: 'Acme', retentionClass: 'contracts-12y' }, fiscalYear: 2024 });
    const { etag } = (await deps.retention.catalog.getVersioned(T, seeded.id))!;
    await deps.retention.catalog.replace({ ...seeded, retention: { class: 'contracts-12y', retainUntil: '2037-01-01T00:00:00.000Z' } }, etag);
    const other = await seedDocument(deps, T, { metadata: { documentDate: '2024-07-15' }, fiscalYear: 2024 });
    await setRetentionPolicy(manager, base, deps); // contracts-12y removed

    const { document } = await correctMetadata({ principal: accountant, documentId: seeded.id, patch: { counterparty: 'Acme BV' }, reason: 'typo', ifMatch: 1 }, deps);
    expect([document.metadata.counterparty, document.retention]).toEqual(['Acme BV', { class: 'contracts-12y', retainUntil: '2037-01-01T00:00:00.000Z' }]);
    expect(await codeOf(correctMetadata({ principal: accountant, documentId: seeded.id, patch: { documentDate: '2023-07-15' }, reason: 'typo', ifMatch: 2 }, deps))).toBe('retention_shortening_refused');
    expect(await codeOf(correctMetadata({ principal: accountant, documentId: other.id, patch: { retentionClass: 'contracts-12y' }, reason: 'reclassify', ifMatch: 1 }, deps))).toBe('invalid_metadata');
  });
});
