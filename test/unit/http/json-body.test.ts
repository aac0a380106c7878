/**
 * JSON request bodies as a hostile client sends them, through the local host and the real route table:
 * every body the archive cannot read exactly as sent is a 4xx problem+json, and nothing is stored.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import { parseJsonBody } from '../../../shared/http/json-body';
import type { ArchiveRequest } from '../../../shared/http/types';
import { servedArchive } from '../../support/served-archive';

const requestOf = (text: string): ArchiveRequest => ({ method: 'POST', url: new URL('http://localhost/api/x'), params: {}, headers: { get: (n) => (n === 'content-type' ? 'application/json' : null) }, body: Readable.from([Buffer.from(text)]), clientIp: null, requestId: 'r' });

const { base } = servedArchive();

const keyNames = async (): Promise<string[]> => ((await (await fetch(`${base()}/api-keys`)).json()) as { items: { name: string }[] }).items.map((k) => k.name);

/** POST /api-keys with these bytes: refused with `status`/`code`, as problem+json, and no key created. */
async function expectRefused(body: Buffer | string, contentType: string | null, status: number, code: string, detail: RegExp): Promise<void> {
  const before = await keyNames();
  const res = await fetch(`${base()}/api-keys`, { method: 'POST', headers: contentType === null ? {} : { 'Content-Type': contentType }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const problem = (await res.json()) as { code: string; detail: string };
  expect({ status: res.status, type: res.headers.get('content-type'), code: problem.code }).toEqual({ status, type: 'application/problem+json', code });
  expect(problem.detail).toMatch(detail);
  expect(await keyNames()).toEqual(before);
}

const key = (name: string) => `{"name":"${name}","rightsSet":"uploader"}`;

it('a body that is not UTF-8 is refused, not stored with replacement characters', async () => {
  await expectRefused(Buffer.concat([Buffer.from('{"name":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('","rightsSet":"uploader"}')]), 'application/json', 400, 'bad_request', /UTF-8/);
  await expectRefused(Buffer.from(key('caf\xe9'), 'latin1'), 'application/json; charset=utf-8', 400, 'bad_request', /UTF-8/);
});

it('a charset other than UTF-8 is a 415, not read as UTF-8', async () => {
  await expectRefused(Buffer.from(key('caf\xe9'), 'latin1'), 'application/json; charset=iso-8859-1', 415, 'unsupported_media_type', /UTF-8/);
  await expectRefused(Buffer.from(key('x'), 'utf16le'), 'application/json; charset=utf-16le', 415, 'unsupported_media_type', /UTF-8/);
});

it('a media type that only starts with "json" is not JSON, and a body without any Content-Type is refused', async () => {
  await expectRefused(key('seq'), 'application/json-seq', 415, 'unsupported_media_type', /application\/json/);
  await expectRefused(key('jsonx'), 'application/json.x', 415, 'unsupported_media_type', /application\/json/);
  await expectRefused(key('none'), null, 415, 'unsupported_media_type', /application\/json/);
});

it('a member named twice is refused: the archive does not pick one of two values the client sent', async () => {
  await expectRefused('{"name":"a","name":"b","rightsSet":"uploader"}', 'application/json', 400, 'bad_request', /"name".*more than once/);
  await expectRefused('{"name":"a","rightsSet":"uploader","\\u0072ightsSet":"archivist"}', 'application/json', 400, 'bad_request', /"rightsSet".*more than once/);
});

it('what a client may send is still read: charset utf-8 in any case, +json types, a BOM, an empty body where nothing is required', async () => {
  for (const [name, type] of [['one', 'application/json; charset=UTF-8'], ['two', 'application/json;charset="utf-8"'], ['three', 'application/vnd.archive+json']] as const) {
    const res = await fetch(`${base()}/api-keys`, { method: 'POST', headers: { 'Content-Type': type }, body: key(name) });
    expect(res.status).toBe(201);
  }
  expect((await fetch(`${base()}/api-keys`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `\ufeff${key('bom')}` })).status).toBe(201);
  // Equal keys in different objects are no duplicate, nor is a key's text met again as a value.
  const text = '{"a":{"a":"a","b":[{"a":1},{"a":"\\"a\\""}]},"b":{},"c":"a"}';
  await expect(parseJsonBody(requestOf(text), z.unknown())).resolves.toEqual(JSON.parse(text));
  expect(await keyNames()).toEqual(expect.arrayContaining(['one', 'two', 'three', 'bom']));
});

it('a string with control characters, bidirectional overrides, invisible characters or a lone surrogate is refused in every JSON body, names included, naming the character', async () => {
  await expectRefused(key('scanner\\u202e1-gpj'), 'application/json', 400, 'bad_request', /^name: must not contain U\+202E \(a bidirectional override/);
  await expectRefused(key('a\\u0000b'), 'application/json', 400, 'bad_request', /^name: must not contain U\+0000 \(a control character\)$/);
  await expectRefused(key('\\u001b[31mred'), 'application/json', 400, 'bad_request', /^name: must not contain U\+001B/);
  await expectRefused(key('half \\ud800'), 'application/json', 400, 'bad_request', /^name: must not contain U\+D800 \(a lone surrogate\)$/);
  await expectRefused(key('scanner\\u200b1'), 'application/json', 400, 'bad_request', /^name: must not contain U\+200B \(an invisible formatting character\)$/);
  await expectRefused(key('approved\\rrefused'), 'application/json', 400, 'bad_request', /^name: must not contain U\+000D/);
  await expectRefused('{"name":"k","rightsSet":"uploader","\\u2066x":1}', 'application/json', 400, 'bad_request', /U\+2066/);
});

it("a key's name is held to the strictest rule: a direction mark or a tab is refused there, though a reason may have them; the refusal names the field for the form", async () => {
  await expectRefused(key('scanner\\u200f-1'), 'application/json', 400, 'bad_request', /^name: must not contain U\+200F \(a direction mark\)$/);
  await expectRefused(key('scanner\\t1'), 'application/json', 400, 'bad_request', /^name: must not contain U\+0009 \(a tab\)$/);
  const res = await fetch(`${base()}/api-keys`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: key('scan\\u2060ner') });
  expect(((await res.json()) as { errors: unknown }).errors).toEqual([{ path: 'name', message: 'must not contain U+2060 (an invisible formatting character)' }]);
});

it('line breaks and tabs in free text, and right-to-left marks and scripts, stay allowed', async () => {
  const text = '{"a":"two\\nlines\\tand\\r\\n","b":"\u05e9\u05dc\u05d5\u05dd \u200f(\u05d1\u05e2\u05f4\u05de)","c":"\ud83d\udcc4"}';
  await expect(parseJsonBody(requestOf(text), z.unknown())).resolves.toEqual(JSON.parse(text));
});
