/**
 * The banner's `npm run token` line mints for the issuer that runs: with LOCAL_OIDC_PORT moved (a port taken, or 0),
 * the plain command signed for :7072 and the archive refused its tokens (401).
 */
import { tokenCommand } from '../../../local/paths';

it.each([
  ['http://127.0.0.1:7072', 'npm run token -- --tenant acme'],
  ['http://127.0.0.1:17072', 'LOCAL_OIDC_PORT=17072 npm run token -- --tenant acme'],
  ['http://127.0.0.1:41234', 'LOCAL_OIDC_PORT=41234 npm run token -- --tenant acme'],
])('issuer %s: %s, whose environment gives the token that issuer', async (issuer, expected) => {
  const line = tokenCommand(issuer, '--tenant acme');
  expect(line).toBe(expected);
  const saved = process.env.LOCAL_OIDC_PORT;
  const set = /^LOCAL_OIDC_PORT=(\d+) /.exec(line)?.[1];
  if (set) process.env.LOCAL_OIDC_PORT = set;
  else delete process.env.LOCAL_OIDC_PORT;
  try {
    // what `npm run token` (local/token.ts) signs for, in the environment the line sets
    jest.resetModules();
    const { LOCAL_ISSUER } = await import('../../../local/paths');
    expect(LOCAL_ISSUER).toBe(issuer);
  } finally {
    if (saved === undefined) delete process.env.LOCAL_OIDC_PORT;
    else process.env.LOCAL_OIDC_PORT = saved;
  }
});
