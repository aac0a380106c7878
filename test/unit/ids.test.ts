import { DOCUMENT_ID, idFromIdempotencyKey, uuidv7 } from '../../shared/ids';

describe('document ids', () => {
  it('UUIDv7 ids sort by time and strictly increase within a millisecond', () => {
    const ids = Array.from({ length: 50 }, () => uuidv7(1_700_000_000_000));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(50);
    expect(uuidv7(1_800_000_000_000) > ids[49]!).toBe(true);
    for (const id of ids) expect(id).toMatch(DOCUMENT_ID);
  });

  it('an Idempotency-Key gives the same id for the same tenant and person only', () => {
    expect(idFromIdempotencyKey('acme', 'anna', 'k1')).toBe(idFromIdempotencyKey('acme', 'anna', 'k1'));
    expect(idFromIdempotencyKey('acme', 'anna', 'k1')).not.toBe(idFromIdempotencyKey('other', 'anna', 'k1'));
    expect(idFromIdempotencyKey('acme', 'anna', 'k1')).not.toBe(idFromIdempotencyKey('acme', 'bob', 'k1'));
    // Unambiguous: the parts cannot be shifted into one another.
    expect(idFromIdempotencyKey('acme', 'a', 'b\u0000c')).not.toBe(idFromIdempotencyKey('acme', 'a\u0000b', 'c'));
    expect(idFromIdempotencyKey('acme', 'anna', 'k1')).toMatch(DOCUMENT_ID);
  });
});
