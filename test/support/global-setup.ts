/**
 * One Azurite, one Cosmos protocol server and one OIDC issuer per test run, on free
 * ports. Their endpoints (and the issuer's signing key) reach the test workers via a file.
 * The integration and e2e projects both ask for them; the second one uses the first's
 * (counted, so the last teardown stops them).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startAzurite, startCosmos } from '../../local/emulators';
import { newSigningKey, startOidcIssuer } from '../../local/oidc';
import type { TestEmulators } from './emulators-file';

export interface EmulatorsState {
  stops: (() => Promise<void>)[];
  file: string;
  users: number;
}

export default async function globalSetup(): Promise<void> {
  const running = (globalThis as Record<string, unknown>).__archiveEmulators as EmulatorsState | undefined;
  if (running) {
    running.users += 1;
    process.env.ARCHIVE_TEST_EMULATORS = running.file;
    return;
  }
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
  const state: EmulatorsState = { stops: [azurite.stop, cosmos.stop, oidc.stop], file, users: 1 };
  (globalThis as Record<string, unknown>).__archiveEmulators = state;
}
