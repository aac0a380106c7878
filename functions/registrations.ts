/**
 * What a Function App registers, by its role (ARCHIVE_FUNCTIONS_ROLE): a plain choice functions/index.ts follows, kept
 * apart from it so that a test can read it without starting the host.
 */
import type { Config } from '../shared/config';

export interface Registrations {
  /** The API's routes and the /api catch-all. */
  routes: boolean;
  /** The web app (`web`, every other GET). */
  web: boolean;
  /** Every timer of functions/timers.ts. */
  timers: boolean;
  /** recordValidationOutcome: the validator app's outcomes. */
  validationOutcomes: boolean;
  /** runExportWork: one export attempt per invocation. */
  exportWork: boolean;
}

/**
 * The main app (`api`) runs everything but the export work: its functionTimeout stays 10 minutes, which the reconciler's
 * in-flight bounds (HOLD_WRITE_IN_FLIGHT_MS) assume of every request and timer that writes. The export app
 * (`export-worker`) runs only the export work, under a longer timeout, so a year's export is not cut at 10 minutes;
 * it serves no request and runs no timer. `all` is both, for the local host and `func start`.
 */
export function registrationsFor(role: Config['ARCHIVE_FUNCTIONS_ROLE']): Registrations {
  switch (role) {
    case 'all':
      return { routes: true, web: true, timers: true, validationOutcomes: true, exportWork: true };
    case 'api':
      return { routes: true, web: true, timers: true, validationOutcomes: true, exportWork: false };
    case 'export-worker':
      return { routes: false, web: false, timers: false, validationOutcomes: false, exportWork: true };
    default: {
      // The config loader refuses any other role; were one to get here, nothing is registered rather than everything.
      const unknown: never = role;
      throw new Error(`unknown ARCHIVE_FUNCTIONS_ROLE: ${String(unknown)}`);
    }
  }
}
