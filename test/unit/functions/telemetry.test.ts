/**
 * What Application Insights keeps of a request the worker answers: the HTTP instrumentation the
 * archive enables (functions/telemetry.ts) records its URL; a search's query carries document
 * content (counterparty, reference, amounts), which must not land in the operators' log store.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { telemetryOptions } from '../../../functions/telemetry';

/** The spans of one request to a server instrumented as functions/telemetry.ts sets it up. */
async function recorded(path: string, semconv?: string) {
  if (semconv) process.env.OTEL_SEMCONV_STABILITY_OPT_IN = semconv;
  const options = telemetryOptions('InstrumentationKey=00000000-0000-0000-0000-000000000000');
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [...(options.spanProcessors ?? []), new SimpleSpanProcessor(exporter)] as never });
  const instrumentation = new HttpInstrumentation({ ...options.instrumentationOptions?.http, enabled: false });
  instrumentation.setTracerProvider(provider);
  // Jest's module registry bypasses the require hook that patches `http` in the worker: patched here by hand.
  const httpModule = instrumentation.getModuleDefinitions().find((m) => m.name === 'http')!;
  httpModule.patch!(http);
  const server = http.createServer((_, res) => res.end('{}'));
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.text());
    // Kind 1: SpanKind.SERVER, the requests this instance answers.
    return exporter.getFinishedSpans().filter((s) => s.kind === (1 as typeof s.kind)).map((s) => s.attributes);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    httpModule.unpatch!(http);
    await provider.shutdown();
    delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
  }
}

it('a search request is recorded with its parameter names, never their values', async () => {
  const served = await recorded('/api/documents?counterparty=ACME%20GmbH&reference=INV-7&amountMin=1200&tags');
  expect(served).toHaveLength(1);
  expect(served[0]!['http.target']).toBe('/api/documents?counterparty=REDACTED&reference=REDACTED&amountMin=REDACTED&tags');
  expect(served[0]!['http.url']).toMatch(/\/api\/documents\?counterparty=REDACTED&reference=REDACTED&amountMin=REDACTED&tags$/);
  expect(JSON.stringify(served)).not.toMatch(/ACME|INV-7|1200/);
});

it('a raw upload\'s metadata query parameter too', async () => {
  const served = await recorded(`/api/documents?metadata=${encodeURIComponent(JSON.stringify({ counterparty: 'ACME GmbH', amount: { value: '1200.00', currency: 'EUR' } }))}`);
  expect(served[0]!['http.target']).toBe('/api/documents?metadata=REDACTED');
});

it('with the stable HTTP conventions too (url.query, url.full)', async () => {
  const served = await recorded('/api/documents?counterparty=ACME%20GmbH&reference=INV-7', 'http/dup');
  expect(served[0]!['url.query']).toBe('counterparty=REDACTED&reference=REDACTED');
  expect(JSON.stringify(served)).not.toMatch(/ACME|INV-7/);
});

it('a request without a query is recorded as it came', async () => {
  const served = await recorded('/api/health');
  expect(served.map((a) => a['http.target'])).toEqual(['/api/health']);
});
