import * as fs from 'node:fs';
import type { EmulatorsState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__archiveEmulators as EmulatorsState | undefined;
  if (!state) return;
  state.users -= 1;
  if (state.users > 0) return;
  delete (globalThis as Record<string, unknown>).__archiveEmulators;
  await Promise.all(state.stops.map((stop) => stop()));
  fs.rmSync(state.file, { force: true });
}
