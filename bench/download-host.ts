/**
 * The archive host as its own process for `npm run bench:download` (as in production, where the
 * client is not in the server's process). Environment from the parent; prints `READY <url>`, and
 * its peak RSS (`MAXRSS <kB>`) when told to stop.
 */
import { startArchiveHost } from '../local/archive-host';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

startArchiveHost({ env: process.env, log: quiet }).then(
  (host) => {
    process.stdout.write(`READY ${host.url}\n`);
    process.on('SIGTERM', () => {
      void host.stop().finally(() => {
        process.stdout.write(`MAXRSS ${process.resourceUsage().maxRSS}\n`, () => process.exit(0));
      });
    });
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
