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
  const started = await Promise.allSettled([startAzurite(), startCosmos(), startOidcIssuer(key)]);
  const [azurite, cosmos, oidc] = started;
  if (azurite.status === 'rejected' || cosmos.status === 'rejected' || oidc.status === 'rejected') {
    // jest runs no teardown after a failed setup: stop what did start, so no emulator outlives the run.
    await Promise.all(started.flatMap((s) => (s.status === 'fulfilled' ? [s.value.stop().catch(() => undefined)] : [])));
    throw started.map((s) => (s.status === 'rejected' ? s.reason : null)).find((reason) => reason !== null);
  }
  const file = path.join(os.tmpdir(), `archive-test-emulators-${process.pid}.json`);
  const info: TestEmulators = {
    storageConnectionString: azurite.value.connectionString,
    azuritePort: azurite.value.port,
    cosmosEndpoint: cosmos.value.endpoint,
    cosmosKey: cosmos.value.key,
    issuer: oidc.value.issuer,
    jwksUri: oidc.value.jwksUri,
    signingKey: key,
  };
  fs.writeFileSync(file, JSON.stringify(info));
  process.env.ARCHIVE_TEST_EMULATORS = file;
  const state: EmulatorsState = { stops: [azurite.value.stop, cosmos.value.stop, oidc.value.stop], file, users: 1 };
  (globalThis as Record<string, unknown>).__archiveEmulators = state;
}
