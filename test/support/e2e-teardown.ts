import * as fs from 'node:fs';
import type { ArchiveHost } from '../../local/archive-host';
import globalTeardown from './global-teardown';

export default async function e2eTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__archiveE2e as { host: ArchiveHost; file: string } | undefined;
  if (state) {
    await state.host.stop();
    fs.rmSync(state.file, { force: true });
  }
  await globalTeardown();
}
