import * as fs from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<string, unknown>).__archiveEmulators as { stops: (() => Promise<void>)[]; file: string } | undefined;
  if (!state) return;
  await Promise.all(state.stops.map((stop) => stop()));
  fs.rmSync(state.file, { force: true });
}
