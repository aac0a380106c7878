/**
 * The local issuer's development login form (GET/POST /authorize): pick a tenant, a person, a rights
 * set and a kind, and be signed in as them. No password: local development only, never in Azure.
 */
import { createHash } from 'node:crypto';
import { BUILT_IN_RIGHTS_SETS } from '../shared/kernel/principal';
import { LOCAL_WEB_CLIENT_ID } from '../shared/config';
import { escapeHtml } from '../shared/http/web-app';

/** What a client asks for at /authorize (query on GET, hidden fields on POST). */
export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  nonce: string | null;
  loginHint: string | null;
}

export interface LoginChoice {
  tenant: string;
  person: string;
  rights: string;
  kind: 'user' | 'support';
}

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{2,40}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
export const RIGHTS_SET_NAMES = Object.keys(BUILT_IN_RIGHTS_SETS);

/** RFC 8252 loopback redirect: plain http to localhost or 127.0.0.1, any port; nothing else. */
export function isLoopbackRedirect(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1') && !url.username && !url.password && !url.hash;
}

/** An Origin header of a loopback page (the app during development), allowed by CORS. */
export function isLoopbackOrigin(origin: string | undefined): origin is string {
  return !!origin && /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/.test(origin);
}

export type Checked =
  /** Shown as a page: the client or redirect URI cannot be trusted, so nothing is sent to it. */
  | { ok: false; page: string }
  /** Sent back to the (trusted) redirect URI as an OAuth error. */
  | { ok: false; redirect: string }
  | { ok: true; request: AuthorizeRequest };

export function checkAuthorize(p: URLSearchParams): Checked {
  const clientId = p.get('client_id') ?? '';
  const redirectUri = p.get('redirect_uri') ?? '';
  if (clientId !== LOCAL_WEB_CLIENT_ID) return { ok: false, page: `Unknown client_id. The local issuer knows one client: ${LOCAL_WEB_CLIENT_ID}.` };
  if (!isLoopbackRedirect(redirectUri)) return { ok: false, page: 'redirect_uri must be a loopback address: http://localhost:<port>/… or http://127.0.0.1:<port>/… (RFC 8252).' };
  const state = p.get('state') ?? '';
  const back = (error: string, description: string) => ({ ok: false as const, redirect: withParams(redirectUri, { error, error_description: description, ...(state ? { state } : {}) }) });
  if (p.get('response_type') !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported.');
  if (p.get('code_challenge_method') !== 'S256') return back('invalid_request', 'PKCE is required: code_challenge_method=S256.');
  const codeChallenge = p.get('code_challenge') ?? '';
  if (!CHALLENGE.test(codeChallenge)) return back('invalid_request', 'code_challenge must be the base64url SHA-256 of the code verifier (43 characters).');
  if (!state) return back('invalid_request', 'state is required.');
  return { ok: true, request: { clientId, redirectUri, state, codeChallenge, nonce: p.get('nonce') || null, loginHint: p.get('login_hint') || null } };
}

/** The person's choice from the form, or a message per field that is wrong. */
export function checkChoice(p: URLSearchParams): { choice: LoginChoice } | { errors: Partial<Record<keyof LoginChoice, string>>; values: Partial<LoginChoice> } {
  const values = { tenant: (p.get('tenant') ?? '').trim(), person: (p.get('person') ?? '').trim(), rights: p.get('rights') ?? '', kind: p.get('kind') ?? '' };
  const errors: Partial<Record<keyof LoginChoice, string>> = {};
  if (!TENANT_PATTERN.test(values.tenant)) errors.tenant = 'Enter a tenant id: 3 to 41 lowercase letters, digits or hyphens, starting with a letter or digit.';
  if (!values.person || values.person.length > 256 || /\p{Cc}/u.test(values.person)) errors.person = 'Enter who signs in, for example alice@acme.example (at most 256 characters).';
  if (!RIGHTS_SET_NAMES.includes(values.rights)) errors.rights = 'Choose one of the built-in rights sets.';
  if (values.kind !== 'user' && values.kind !== 'support') errors.kind = 'Choose user or support.';
  if (Object.keys(errors).length > 0) return { errors, values: { ...values, kind: values.kind === 'support' ? 'support' : 'user' } };
  return { choice: values as LoginChoice };
}

export function withParams(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

const STYLE = `
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; color: #1b1f24; background: #f4f5f7; }
body { margin: 0; }
main { max-width: 34rem; margin: 2rem auto; padding: 1.5rem 2rem 2rem; background: #fff; border: 1px solid #d0d4da; border-radius: 8px; }
.local { margin: 0 0 1.25rem; padding: .75rem 1rem; background: #fff4ce; color: #4d3800; border: 2px solid #8a6400; border-radius: 6px; }
.local strong { display: block; font-size: 1.05rem; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
.field { margin: 0 0 1rem; }
label, legend { display: block; font-weight: 600; margin-bottom: .25rem; }
fieldset { border: 0; padding: 0; margin: 0 0 1.25rem; }
fieldset label { display: inline-flex; align-items: center; gap: .35rem; font-weight: 400; margin-right: 1.25rem; }
input[type=text], select { box-sizing: border-box; width: 100%; padding: .5rem .6rem; font: inherit; border: 1px solid #5c6470; border-radius: 4px; background: #fff; color: inherit; }
input[type=radio] { width: 1.1rem; height: 1.1rem; }
.hint { margin: .25rem 0 0; color: #4a5260; font-size: .9rem; }
.error { margin: .25rem 0 0; color: #a1151a; font-weight: 600; }
[aria-invalid=true] { border-color: #a1151a; border-width: 2px; }
.summary { padding: .75rem 1rem; border: 2px solid #a1151a; border-radius: 6px; margin: 0 0 1rem; }
.summary h2 { font-size: 1.05rem; margin: 0; color: #a1151a; }
.actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
button { font: inherit; font-weight: 600; padding: .55rem 1.25rem; border-radius: 4px; border: 2px solid #1847b8; cursor: pointer; }
button.primary { background: #1847b8; color: #fff; }
button.secondary { background: #fff; color: #1847b8; }
:focus-visible { outline: 3px solid #1847b8; outline-offset: 2px; }
code { font-size: .95em; }
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** The form page's own CSP: nothing but its one inline style; the form posts here and lands on the app. */
export function loginPageCsp(redirectUri: string | null): string {
  const target = redirectUri ? ` ${new URL(redirectUri).origin}` : '';
  // form-action also governs the redirect after the POST, so the app's origin is listed.
  return `default-src 'none'; style-src ${STYLE_HASH}; img-src 'none'; form-action 'self'${target}; frame-ancestors 'none'; base-uri 'none'`;
}


function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="local" role="note"><strong>Local development only — not in Azure</strong>This is the archive's local sign-in. It asks no password: whoever reaches it can act as any person of any tenant. In Azure people sign in with Microsoft Entra ID.</div>
${body}
</main>
</body>
</html>
`;
}

export function errorPage(message: string): string {
  return page('Sign-in refused — local issuer', `<h1>This sign-in request is refused</h1>\n<p>${escapeHtml(message)}</p>`);
}

export function loginPage(req: AuthorizeRequest, state: { values?: Partial<LoginChoice>; errors?: Partial<Record<keyof LoginChoice, string>> } = {}): string {
  const v = { tenant: '', person: req.loginHint ?? '', rights: 'accountant', kind: 'user', ...state.values };
  const errors = state.errors ?? {};
  const first = (['tenant', 'person', 'rights', 'kind'] as const).find((k) => errors[k]) ?? (v.tenant ? (v.person ? null : 'person') : 'tenant');
  const hidden = { client_id: req.clientId, redirect_uri: req.redirectUri, response_type: 'code', state: req.state, code_challenge: req.codeChallenge, code_challenge_method: 'S256', ...(req.nonce ? { nonce: req.nonce } : {}) };
  const described = (name: keyof LoginChoice, hint: boolean) => {
    const ids = [hint ? `${name}-hint` : '', errors[name] ? `${name}-error` : ''].filter(Boolean).join(' ');
    return `${ids ? ` aria-describedby="${ids}"` : ''}${errors[name] ? ' aria-invalid="true"' : ''}${first === name ? ' autofocus' : ''}`;
  };
  const errorOf = (name: keyof LoginChoice) => (errors[name] ? `<p class="error" id="${name}-error">${escapeHtml(errors[name])}</p>` : '');
  const summary = Object.keys(errors).length
    ? `<div class="summary" role="alert"><h2>Check the form</h2><p>${Object.keys(errors).length === 1 ? 'One field needs' : 'Some fields need'} a change before you can sign in.</p></div>\n`
    : '';
  const options = RIGHTS_SET_NAMES.map((name) => `<option value="${escapeHtml(name)}"${name === v.rights ? ' selected' : ''}>${escapeHtml(name)}</option>`).join('');
  const radio = (kind: 'user' | 'support', label: string) =>
    `<label><input type="radio" name="kind" value="${kind}"${v.kind === kind ? ' checked' : ''}${kind === 'user' && first === 'kind' ? ' autofocus' : ''}> ${label}</label>`;
  return page(
    'Sign in (local development) — Document archive',
    `<h1>Sign in to the document archive</h1>
${summary}<form method="post" action="/authorize" novalidate>
${Object.entries(hidden).map(([k, val]) => `<input type="hidden" name="${k}" value="${escapeHtml(val)}">`).join('\n')}
<div class="field">
<label for="tenant">Tenant</label>
<input type="text" id="tenant" name="tenant" value="${escapeHtml(v.tenant)}" autocomplete="organization" spellcheck="false" autocapitalize="none" required${described('tenant', true)}>
<p class="hint" id="tenant-hint">The tenant id, for example <code>acme</code>.</p>
${errorOf('tenant')}</div>
<div class="field">
<label for="person">Person</label>
<input type="text" id="person" name="person" value="${escapeHtml(v.person)}" autocomplete="username" spellcheck="false" autocapitalize="none" required${described('person', true)}>
<p class="hint" id="person-hint">The subject the archive records in its audit log, for example <code>alice@acme.example</code>.</p>
${errorOf('person')}</div>
<div class="field">
<label for="rights">Rights set</label>
<select id="rights" name="rights"${described('rights', true)}>${options}</select>
<p class="hint" id="rights-hint">Used when the tenant has assigned this person no rights set of its own.</p>
${errorOf('rights')}</div>
<fieldset${errors.kind ? ' aria-describedby="kind-error"' : ''}>
<legend>Kind</legend>
${radio('user', 'A person of the tenant')}
${radio('support', 'Provider support staff')}
${errorOf('kind')}</fieldset>
<div class="actions">
<button type="submit" class="primary" name="action" value="sign-in">Sign in</button>
<button type="submit" class="secondary" name="action" value="cancel">Cancel</button>
</div>
</form>`,
  );
}
