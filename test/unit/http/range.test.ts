import { ArchiveError } from '../../../shared/kernel/errors';
import { headersOf } from '../../../shared/http/problem';
import { parseRange } from '../../../shared/http/range';

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=-5', { start: 95, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=90-200', { start: 90, end: 99 }],
  ])('%s of 100 bytes', (header, expected) => expect(parseRange(header, 100)).toEqual(expected));

  it.each([null, 'items=0-1', 'bytes=0-1,5-6', 'bytes=5-1', 'bytes=-'])('serves the whole file for %s', (header) => expect(parseRange(header, 100)).toBeNull());

  it.each(['bytes=100-', 'bytes=-0', 'bytes=150-160'])('%s is not satisfiable', (header) => {
    expect(() => parseRange(header, 100)).toThrow(ArchiveError);
    try {
      parseRange(header, 100);
    } catch (e) {
      expect(headersOf(e as ArchiveError)['Content-Range']).toBe('bytes */100');
    }
  });
});
