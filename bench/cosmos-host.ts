/**
 * The Cosmos DB protocol server as a process of its own for `npm run bench` (as on Azure, where
 * Cosmos is not in the Functions host's process): the archive host and the floor both reach it over
 * HTTP, and its CPU does not compete with either's event loop. Prints `READY <endpoint>`.
 */
import { startCosmos } from '../local/emulators';

async function main() {
  const cosmos = await startCosmos();
  process.stdout.write(`READY ${cosmos.endpoint}\n`);
  process.on('SIGTERM', () => {
    void cosmos.stop().finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
