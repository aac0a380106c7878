/** After signing in the app lands on a path of its own origin only: a return path naming another origin becomes `/`. */
import { returnPath } from '../../../web/src/lib/return-path';

const ORIGIN = 'https://archive.example';

it('keeps a path of this origin, with its query', () => {
  expect(returnPath('/documents/abc?tab=history', ORIGIN)).toBe('/documents/abc?tab=history');
  expect(returnPath('/', ORIGIN)).toBe('/');
});

it.each(['//evil.example/x', '/\\evil.example/x', '\\\\evil.example', 'https://evil.example/', 'javascript:alert(1)', 'http://archive.example/', '//archive.example@evil.example/'])('%s becomes /', (p) => {
  expect(returnPath(p, ORIGIN)).toBe('/');
});
