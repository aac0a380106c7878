/**
 * Where to land after signing in: a path of this origin, else `/`. The return path crosses the
 * redirect (MSAL's state, the PKCE record); `//host/…` or `/\host` starts with `/` yet names another
 * origin, which history.replaceState refuses with an exception: the sign-in would fail after it succeeded.
 */
export function returnPath(returnTo: string, origin: string): string {
  try {
    const url = new URL(returnTo, origin);
    if (url.origin === origin) return url.pathname + url.search;
  } catch {
    // not a URL at all
  }
  return '/';
}
