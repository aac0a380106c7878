/**
 * One Azurite, one Cosmos protocol server and one OIDC issuer per test run, on free
 * ports. Their endpoints (and the issuer's signing key) reach the test workers via a file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, startCosmos } from '../../local/emulators';
import { newSigningKey, startOidcIssuer } from '../../local/oidc';
import type { TestEmulators } from './emulators-file';

export default async function globalSetup(): Promise<void> {
  const key = await newSigningKey();
  const [azurite, cosmos, oidc] = await Promise.all([startAzurite(), startCosmos(), startOidcIssuer(key)]);
  const file = path.join(os.tmpdir(), `archive-test-emulators-${process.pid}.json`);
  const info: TestEmulators = {
    storageConnectionString: azurite.connectionString,
    azuritePort: azurite.port,
    cosmosEndpoint: cosmos.endpoint,
    cosmosKey: cosmos.key,
    issuer: oidc.issuer,
    jwksUri: oidc.jwksUri,
    signingKey: key,
  };
  fs.writeFileSync(file, JSON.stringify(info));
  process.env.ARCHIVE_TEST_EMULATORS = file;
  (globalThis as Record<string, unknown>).__archiveEmulators = { stops: [azurite.stop, cosmos.stop, oidc.stop], file };
}
