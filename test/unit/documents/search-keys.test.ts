import fc from 'fast-check';
import { searchKey } from '../../../shared/kernel/search-keys';

describe('searchKey', () => {
  it('is idempotent and ignores case, accents and runs of white space', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const k = searchKey(s);
        expect(searchKey(k)).toBe(k);
        expect(searchKey(s.toUpperCase())).toBe(searchKey(s.toLowerCase()));
        expect(searchKey(` ${s.replace(/ /g, '   ')} `)).toBe(k);
      }),
    );
  });

  it('maps accented and compatibility forms to plain lower case', () => {
    expect(searchKey('Épicerie  Ève')).toBe('epicerie eve');
    expect(searchKey('Bakkerij JANSEN\t')).toBe('bakkerij jansen');
    expect(searchKey('ﬁrma Ｓｍｉｔ')).toBe('firma smit');
  });
});
