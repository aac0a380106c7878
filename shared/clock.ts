/** Injected so retention arithmetic and sweeps can be tested with a fake clock. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };
