/**
 * What the ingest benches share: the archive host on fresh emulators (as `npm start` runs it, minus
 * timers and persistence), and distinct scans of one corpus JPEG.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ArchiveHost, startArchiveHost } from '../local/archive-host';
import { startAzurite, startCosmos } from '../local/emulators';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../local/oidc';
import { paddedJpeg } from '../test/support/large-jpeg';

export const CORPUS = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'corpus');
export const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function startBenchHost(): Promise<{
  host: ArchiveHost;
  azurite: Awaited<ReturnType<typeof startAzurite>>;
  cosmos: Awaited<ReturnType<typeof startCosmos>>;
  oidc: Awaited<ReturnType<typeof startOidcIssuer>>;
}> {
  const [azurite, cosmos, oidc] = await Promise.all([startAzurite(), startCosmos(), startOidcIssuer(await newSigningKey())]);
  const host = await startArchiveHost({
    env: { STORAGE_CONNECTION_STRING: azurite.connectionString, COSMOS_ENDPOINT: cosmos.endpoint, COSMOS_KEY: cosmos.key, AUTH_ISSUER: oidc.issuer, AUTH_AUDIENCE: LOCAL_AUDIENCE, AUTH_JWKS_URI: oidc.jwksUri, ARCHIVE_WORM: 'emulator' },
    log: quiet,
  });
  return { host, azurite, cosmos, oidc };
}

/** The bench scan: a 128 KiB baseline colour JPEG from the corpus. */
export const BENCH_SCAN = fs.readFileSync(path.join(CORPUS, 'ocrmypdf', 'baiona_color.jpg'));

/**
 * Distinct bytes per scan (duplicates are refused, and so is data after the JPEG's end): the tag,
 * and `padding` spaces if asked, in comment (COM) segments right after SOI.
 */
export function taggedScan(tag: string, padding = 0): Buffer {
  return paddedJpeg(BENCH_SCAN, tag, padding);
}
