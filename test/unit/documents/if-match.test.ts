/**
 * If-Match on PATCH /documents/{id}/metadata, read strictly (RFC 9110 §13.1.1): the one strong
 * ETag "metadata-N" names the version; a weak tag never matches (strong comparison), and a tag that
 * names no version is a 412, not the 428 that tells a client who sent If-Match to send one.
 */
import { parseMetadataIfMatch } from '../../../shared/documents/correct-metadata';
import { ArchiveError } from '../../../shared/kernel/errors';

const codeOf = (header: string): string | number | null => {
  try {
    return parseMetadataIfMatch(header);
  } catch (err) {
    return (err as ArchiveError).code;
  }
};

it('the ETag as GET answers it (or the bare version) names the version; none is null (428)', () => {
  expect(parseMetadataIfMatch('"metadata-3"')).toBe(3);
  expect(parseMetadataIfMatch(' "metadata-12" ')).toBe(12);
  expect(parseMetadataIfMatch('4')).toBe(4);
  expect(parseMetadataIfMatch(null)).toBeNull();
  expect(parseMetadataIfMatch('')).toBeNull();
});

it.each([
  ['W/"metadata-1"', 'precondition_failed'],
  ['"metadata-1", "metadata-2"', 'precondition_failed'],
  ['"something-else"', 'precondition_failed'],
  ['"metadata-1', 'precondition_failed'],
  ['metadata-1"', 'precondition_failed'],
  ['*', 'precondition_required'],
])('If-Match: %s is %s', (header, code) => {
  expect(codeOf(header)).toBe(code);
});
