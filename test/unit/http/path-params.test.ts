/**
 * Path parameters are the requester's text too: one with control characters, bidirectional overrides, invisible
 * characters or a lone surrogate names nothing that can exist, on every route, before any schema or handler takes it
 * (a rights assignment was stored for the subject "bob<ESC>[2J<RLO>x<LF>y", and its audit target with it).
 */
import { servedArchive } from '../../support/served-archive';

const { deps, base } = servedArchive();

const assignments = async () => ((await (await fetch(`${base()}/rights-assignments`)).json()) as { items: { subject: string }[] }).items.map((a) => a.subject);

// ESC, RLO, LF, NUL, NEL, and a zero-width space that shows the subject as `bob` in the list of who holds what.
it.each(['bob%1B%5B2J', 'bob%E2%80%AEx', 'bob%0Ay', 'bob%00', 'bob%C2%85', 'bob%E2%80%8B'])('PUT /rights-assignments/%s: 404 problem+json, nothing stored, no such target audited', async (subject) => {
  const res = await fetch(`${base()}/rights-assignments/${subject}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"rightsSet":"uploader"}' });
  expect({ status: res.status, type: res.headers.get('content-type'), code: ((await res.json()) as { code: string }).code }).toEqual({ status: 404, type: 'application/problem+json', code: 'rights_assignment_not_found' });
  expect(await assignments()).toEqual([]);
  await deps.auditOutbox.flush();
  const targets = (deps.audit as unknown as { entries: { target: string | null }[] }).entries.map((e) => e.target ?? '');
  expect(targets.filter((t) => /[\u0000-\u001f\u202e\u200b]/.test(t))).toEqual([]);
});

it('a plain subject is still assigned', async () => {
  expect((await fetch(`${base()}/rights-assignments/bob`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: '{"rightsSet":"uploader"}' })).status).toBe(200);
  expect(await assignments()).toContain('bob');
});
