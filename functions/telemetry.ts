/**
 * OpenTelemetry to Application Insights, in Azure only: requests, dependencies (Blob,
 * Cosmos, Key Vault through the Azure SDK instrumentation) and logs, authenticated with
 * the managed identity. Imported first by functions/index.ts so HTTP is instrumented.
 * Logs carry request ids and error codes; never document content, file names or tokens.
 */
import { type AzureMonitorOpenTelemetryOptions, useAzureMonitor } from '@azure/monitor-opentelemetry';
import { ManagedIdentityCredential } from '@azure/identity';

type SpanProcessor = NonNullable<AzureMonitorOpenTelemetryOptions['spanProcessors']>[number];
type StartedSpan = Parameters<SpanProcessor['onStart']>[0];

/** SpanKind.SERVER of @opentelemetry/api: a request this instance answers. */
const SERVER = 1 as StartedSpan['kind'];
/** Where the HTTP instrumentation puts the request's query (old and stable semantic conventions). */
const URL_ATTRIBUTES = ['http.url', 'http.target', 'url.full', 'url.query'] as const;

/** `a=1&b=x` → `a=REDACTED&b=REDACTED`: which parameters a request had, never their values. */
function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=REDACTED` : pair))
    .join('&');
}

function redactUrl(value: string, whole: boolean): string {
  if (!whole) return redactQuery(value);
  const at = value.indexOf('?');
  return at < 0 ? value : `${value.slice(0, at + 1)}${redactQuery(value.slice(at + 1))}`;
}

/**
 * Query values of incoming requests never reach Application Insights: a search carries document
 * content (`GET /documents?counterparty=…&reference=…&amountMin=…`), and the HTTP instrumentation
 * records the whole URL of every request the worker answers (`http.url`, `http.target`), kept and
 * searchable there. Parameter names stay, so an operator still sees what kind of request it was.
 */
export const redactIncomingQueries: SpanProcessor = {
  onStart(span: StartedSpan) {
    if (span.kind !== SERVER) return;
    for (const name of URL_ATTRIBUTES) {
      const value = span.attributes[name];
      if (typeof value === 'string' && value !== '') span.setAttribute(name, redactUrl(value, name !== 'url.query'));
    }
  },
  onEnd: () => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

export function telemetryOptions(connectionString: string): AzureMonitorOpenTelemetryOptions {
  return {
    // The app's managed identity, as everywhere in Azure (shared/app.ts): never a credential from the environment.
    azureMonitorExporterOptions: { connectionString, credential: new ManagedIdentityCredential(process.env.AZURE_CLIENT_ID ? { clientId: process.env.AZURE_CLIENT_ID } : {}) },
    instrumentationOptions: { azureSdk: { enabled: true }, http: { enabled: true } },
    spanProcessors: [redactIncomingQueries],
    enableLiveMetrics: false,
  };
}

const connectionString = process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
if (connectionString) useAzureMonitor(telemetryOptions(connectionString));
