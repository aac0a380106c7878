/** What the host tells the app at `GET /web-config.json` (built by the server from its one config loader). */
export type AuthConfig =
  | { kind: 'local-oidc'; issuer: string; clientId: string; scope: string }
  | { kind: 'entra'; authority: string; clientId: string; scope: string };

export interface WebConfig {
  auth: AuthConfig;
  apiBase: string;
}

export async function loadWebConfig(): Promise<WebConfig> {
  const res = await fetch('/web-config.json', { headers: { Accept: 'application/json' } });
  if (!res.ok) throw new Error(`web-config.json: HTTP ${res.status}`);
  return (await res.json()) as WebConfig;
}
