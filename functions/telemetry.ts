/**
 * OpenTelemetry to Application Insights, in Azure only: requests, dependencies (Blob,
 * Cosmos, Key Vault through the Azure SDK instrumentation) and logs, authenticated with
 * the managed identity. Imported first by functions/index.ts so HTTP is instrumented.
 * Logs carry request ids and error codes; never document content, file names or tokens.
 */
import { useAzureMonitor } from '@azure/monitor-opentelemetry';
import { DefaultAzureCredential } from '@azure/identity';

const connectionString = process.env.APPLICATIONINSIGHTS_CONNECTION_STRING;
if (connectionString) {
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential: new DefaultAzureCredential() },
    instrumentationOptions: { azureSdk: { enabled: true }, http: { enabled: true } },
    enableLiveMetrics: false,
  });
}
