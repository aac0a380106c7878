import { VerifiedTokens, VERIFIED_TOKEN_MAX_AGE_MS } from '../../../shared/auth/verified-tokens';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const inSeconds = (s: number) => Math.floor(T0 / 1000) + s;

describe('VerifiedTokens (verified-JWT cache)', () => {
  it('answers for the same token within its time', () => {
    const cache = new VerifiedTokens<string>();
    cache.set('token-a', 'alice', inSeconds(3600), T0);
    expect(cache.get('token-a', T0 + 1_000)).toBe('alice');
  });

  it('never answers for a different token, even one differing in a single character', () => {
    const cache = new VerifiedTokens<string>();
    cache.set('header.payload.signature', 'alice', inSeconds(3600), T0);
    expect(cache.get('header.payload.signaturf', T0)).toBeUndefined();
    expect(cache.get('header.payload.signatur', T0)).toBeUndefined();
    expect(cache.get('other', T0)).toBeUndefined();
  });

  it('forgets a token at its exp', () => {
    const cache = new VerifiedTokens<string>();
    cache.set('token-a', 'alice', inSeconds(10), T0);
    expect(cache.get('token-a', T0 + 9_999)).toBe('alice');
    expect(cache.get('token-a', T0 + 10_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('forgets a long-lived token 60 s after it was verified', () => {
    const cache = new VerifiedTokens<string>();
    cache.set('token-a', 'alice', inSeconds(3600), T0);
    expect(cache.get('token-a', T0 + VERIFIED_TOKEN_MAX_AGE_MS - 1)).toBe('alice');
    expect(cache.get('token-a', T0 + VERIFIED_TOKEN_MAX_AGE_MS)).toBeUndefined();
  });

  it('does not keep a token already past its exp (accepted only within the clock tolerance)', () => {
    const cache = new VerifiedTokens<string>();
    cache.set('token-a', 'alice', inSeconds(-5), T0);
    expect(cache.get('token-a', T0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('stays within its bound, dropping expired entries first, then the oldest', () => {
    const cache = new VerifiedTokens<string>({ maxAgeMs: 60_000, maxEntries: 3 });
    cache.set('short', 's', inSeconds(1), T0);
    cache.set('a', 'a', inSeconds(3600), T0);
    cache.set('b', 'b', inSeconds(3600), T0);
    cache.set('c', 'c', inSeconds(3600), T0 + 2_000); // 'short' has expired: it goes
    expect([cache.size, cache.get('a', T0 + 2_000), cache.get('c', T0 + 2_000)]).toEqual([3, 'a', 'c']);
    cache.set('d', 'd', inSeconds(3600), T0 + 2_000); // none expired: the oldest ('a') goes
    expect([cache.size, cache.get('a', T0 + 2_000), cache.get('b', T0 + 2_000), cache.get('d', T0 + 2_000)]).toEqual([3, undefined, 'b', 'd']);
  });
});
