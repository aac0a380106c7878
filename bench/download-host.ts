/**
 * The archive host as its own process for `npm run bench:download` (as in production, where the
 * client is not in the server's process). Environment from the parent; prints `READY <url>`, and
 * its peak RSS (`MAXRSS <kB>`) when told to stop.
 *
 * The same process also serves a bare relay (`RELAY <url>`): `GET /<container>/<blob>` pipes the
 * blob from storage to the client with no archive logic at all. It is the ceiling for any server
 * that streams bytes it does not hold, so the bench can show what the archive's own work costs.
 */
import * as http from 'node:http';
import { BlobServiceClient } from '@azure/storage-blob';
import { startArchiveHost } from '../local/archive-host';
import { listen } from '../local/emulators';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function main() {
  const host = await startArchiveHost({ env: process.env, log: quiet });
  const service = BlobServiceClient.fromConnectionString(process.env.STORAGE_CONNECTION_STRING!);
  const relay = http.createServer((req, res) => {
    const [, container, ...blob] = (req.url ?? '/').split('/');
    service
      .getContainerClient(container!)
      .getBlobClient(decodeURIComponent(blob.join('/')))
      .download()
      .then((d) => {
        res.writeHead(200, { 'Content-Length': String(d.contentLength) });
        d.readableStreamBody!.pipe(res);
      })
      .catch(() => res.writeHead(502).end());
  });
  const relayPort = await listen(relay, 0);
  process.stdout.write(`RELAY http://127.0.0.1:${relayPort}\nREADY ${host.url}\n`);
  process.on('SIGTERM', () => {
    relay.close();
    void host.stop().finally(() => {
      process.stdout.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`, () => process.exit(0));
    });
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
