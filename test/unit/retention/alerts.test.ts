/** The operators' alerts in infra/ match the log lines the timers really write. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../../../shared/ports';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { CORRECTION_UNAUDITED, ORPHANED_BLOBS, UNRECORDED_HOLD } from '../../../shared/retention/reconcile';
import { DOCUMENT_CHECK_FAILED } from '../../../shared/retention/unchecked';
import { FIXITY_CYCLE_OVERRUN, SWEEP_FAILED } from '../../../shared/retention/timers';
import { OUTCOME_FORGED, VALIDATION_FAILED, VALIDATION_POISONED } from '../../../shared/validation/worker';
import { VALIDATION_ABANDONED } from '../../../shared/validation/request';
import { runTimer, TIMER_FAILED, TIMERS } from '../../../functions/timers';
import { AUDIT_ENTRY_UNWRITTEN } from '../../../shared/http/pipeline';
import { CORRECTION_BLOB_DIFFERS } from '../../../shared/documents/correction-blobs';
import { DISPOSAL_CLAIM_UNSEALED, DISPOSAL_REFUSED } from '../../../shared/retention/dispose';
import { EXPORT_BLOB_TAKEN, EXPORT_INCOMPLETE } from '../../../shared/exports/run-export';
import { EXPORT_STALLED } from '../../../shared/exports/maintain-exports';
import { EXPORT_WORK_REFUSED } from '../../../shared/exports/queued-export';
import { DISPOSAL_APPROVAL_RECORD_UNSEALED, DISPOSAL_APPROVAL_UNAUDITED } from '../../../shared/retention/approve-disposal';
import { REVOCATION_RESTORED, REVOCATION_UNSEALED } from '../../../shared/auth/revocation-blobs';
import { API_KEY_UNSEALED, SUPPORT_GRANT_UNSEALED } from '../../../shared/auth/api-keys/key-seal';
import { DECISION_UNSEALED, SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import type { AuditOutboxPort } from '../../../shared/ports';
import { InMemoryTimerState, inMemoryDeps, RecordingLogger } from '../../support/in-memory';
import { AUDIT_OUTBOX_UNSEALED, AuditOutbox } from '../../../shared/audit/outbox';
import { AUDIT_CHAIN_BEHIND_SEAL, AUDIT_PENDING_UNSEALED, AUDIT_SEAL_UNSEALED } from '../../../shared/audit/seal';
import { SETTING_DIFFERS, SETTING_UNSEALED } from '../../../shared/auth/rights-sets/settings-blobs';
import { CORRECTION_UNSEALED } from '../../../shared/documents/correction-blobs';
import { MANIFEST_UNSEALED } from '../../../shared/documents/manifest';
import { PROPOSAL_UNSEALED } from '../../../shared/auth/proposals';
import { KEPT_SIGHTING_WALK_BEHIND, PERSON_SIGHTING_KEPT_UNSEALED, PERSON_SIGHTING_RESTORED, PERSON_SIGHTING_UNSEALED } from '../../../shared/auth/person-sightings';
import { EXPORT_UNSEALED } from '../../../shared/exports/export-seal';
import { EXPORT_BLOB_OUTLIVED, EXPORT_LIST_EDITED } from '../../../shared/exports/withdraw-exports';
import { HOLD_PLACEMENT_UNWITNESSED } from '../../../shared/retention/holds/placement-witness';

/** Timer records that cannot be read, as when Cosmos is down. */
class UnreadableTimerState extends InMemoryTimerState {
  override async get<T>(): Promise<T | null> {
    throw new Error('cosmos unavailable');
  }
}

const bicep = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'infra', 'main.bicep'), 'utf8');
const alertPhrases = [...bicep.matchAll(/traces \| where message has "([^"]+)"/g)].map((m) => m[1]!);

describe('alert phrases', () => {
  it('every log-based alert in infra names a phrase the code logs', () => {
    expect(alertPhrases.sort()).toEqual(['api key in the catalog not sealed by the archive', 'audit chain behind its seal', 'audit entry of a completed change could not be written or parked', 'audit outbox item not sealed by the archive', 'audit seal in storage not sealed by the archive', 'correction blob differs from the catalog', 'correction in storage not sealed by the archive', 'correction in the catalog without its audit entry', 'could not check a document', 'decision in storage not sealed by the archive', 'disposal approval record not sealed by the archive', 'disposal approval without its audit entry', 'disposal claim not made by the archive', 'disposal refused by storage past its grace', 'export blob outlived its export', 'export blob written by another than its attempt', 'export disposable list in storage not as the export wrote it', 'export incomplete', 'export job in the catalog not sealed by the archive', 'export stalled', 'export-work-poison', 'fixity cycle overrun', 'fixity mismatch', 'kept sign-in copies walk behind: a lock may end before it is extended', 'legal hold on blobs without a record', 'legal hold release without a placement audit entry', 'manifest in storage not sealed by the archive', 'orphaned blobs', 'parked audit entries not sealed by the archive', 'person sighting in storage not sealed by the archive', 'person sighting in the catalog not sealed by the archive', 'person sighting restored from storage', 'policy proposal in the catalog not sealed by the archive', 'rendition validation failed', 'rendition-validation-poison', 'retention sweep failed', 'revocation in storage not sealed by the archive', 'revocation restored from storage', 'setting differs from the one kept in storage', 'setting in storage not sealed by the archive', 'setting restored from storage', 'support grant in the catalog not sealed by the archive', 'timer failed', 'validation outcome refused: not signed by the validator']);
    expect(TIMER_FAILED).toBe('timer failed');
    expect(FIXITY_CYCLE_OVERRUN).toContain('fixity cycle overrun');
    expect(ORPHANED_BLOBS).toContain('orphaned blobs');
    expect(UNRECORDED_HOLD).toContain('legal hold on blobs without a record');
    expect(DOCUMENT_CHECK_FAILED).toBe('could not check a document');
    expect(VALIDATION_FAILED).toBe('rendition validation failed');
    expect(OUTCOME_FORGED).toBe('validation outcome refused: not signed by the validator');
    // The poison alert also matches the Node worker's line (and the Functions host's, which names the poison queue).
    expect(bicep).toContain(`message has "${VALIDATION_POISONED.slice(VALIDATION_POISONED.indexOf('moved'))}"`);
    expect(bicep).toContain(`message has "${VALIDATION_ABANDONED}"`);
    expect(FIXITY_MISMATCH).toContain('fixity mismatch');
    expect(SWEEP_FAILED).toBe('retention sweep failed');
    expect(AUDIT_ENTRY_UNWRITTEN).toBe('audit entry of a completed change could not be written or parked');
    expect(CORRECTION_BLOB_DIFFERS).toBe('correction blob differs from the catalog');
    expect(CORRECTION_UNAUDITED).toContain('correction in the catalog without its audit entry');
    expect(DISPOSAL_REFUSED).toContain('disposal refused by storage past its grace');
    expect(DISPOSAL_CLAIM_UNSEALED).toContain('disposal claim not made by the archive');
    expect(EXPORT_INCOMPLETE).toContain('export incomplete');
    expect(EXPORT_STALLED).toContain('export stalled');
    expect(EXPORT_BLOB_OUTLIVED).toBe('export blob outlived its export');
    expect(EXPORT_BLOB_TAKEN).toBe('export blob written by another than its attempt');
    // The export queue's poison alert also matches the worker's line for a message it dropped.
    expect(bicep).toContain(`message has "${EXPORT_WORK_REFUSED.slice(0, EXPORT_WORK_REFUSED.indexOf(':'))}"`);
    expect(DISPOSAL_APPROVAL_UNAUDITED).toBe('disposal approval without its audit entry');
    expect(HOLD_PLACEMENT_UNWITNESSED).toBe('legal hold release without a placement audit entry');
    expect(REVOCATION_RESTORED).toBe('revocation restored from storage');
    expect(API_KEY_UNSEALED).toBe('api key in the catalog not sealed by the archive');
    expect(SUPPORT_GRANT_UNSEALED).toBe('support grant in the catalog not sealed by the archive');
    expect(SETTING_RESTORED).toBe('setting restored from storage');
    expect(AUDIT_CHAIN_BEHIND_SEAL).toBe('audit chain behind its seal');
    expect(AUDIT_SEAL_UNSEALED).toBe('audit seal in storage not sealed by the archive');
    expect(AUDIT_PENDING_UNSEALED).toBe('parked audit entries not sealed by the archive');
    expect(SETTING_UNSEALED).toBe('setting in storage not sealed by the archive');
    expect(SETTING_DIFFERS).toBe('setting differs from the one kept in storage');
    expect(CORRECTION_UNSEALED).toBe('correction in storage not sealed by the archive');
    expect(MANIFEST_UNSEALED).toBe('manifest in storage not sealed by the archive');
    expect(REVOCATION_UNSEALED).toBe('revocation in storage not sealed by the archive');
    expect(DECISION_UNSEALED).toBe('decision in storage not sealed by the archive');
    expect(DISPOSAL_APPROVAL_RECORD_UNSEALED).toBe('disposal approval record not sealed by the archive');
    expect(PROPOSAL_UNSEALED).toBe('policy proposal in the catalog not sealed by the archive');
    expect(PERSON_SIGHTING_UNSEALED).toBe('person sighting in the catalog not sealed by the archive');
    expect(PERSON_SIGHTING_RESTORED).toBe('person sighting restored from storage');
    expect(PERSON_SIGHTING_KEPT_UNSEALED).toBe('person sighting in storage not sealed by the archive');
    expect(KEPT_SIGHTING_WALK_BEHIND).toBe('kept sign-in copies walk behind: a lock may end before it is extended');
    expect(EXPORT_UNSEALED).toBe('export job in the catalog not sealed by the archive');
    expect(EXPORT_LIST_EDITED).toBe('export disposable list in storage not as the export wrote it');
    expect(AUDIT_OUTBOX_UNSEALED).toBe('audit outbox item not sealed by the archive');
  });

  it('a seal run that cannot append left-behind entries, or cannot seal a month, still seals the rest, then fails for the timer alert', async () => {
    const base = inMemoryDeps();
    const seal = TIMERS.find((t) => t.name === 'sealAuditLog')!;
    await base.audit.append({ tenantId: 'acme', at: base.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: 'r1', clientIp: null, userAgent: null });
    // The outbox cannot be read: entries of completed changes stay out of the chain, run after run.
    const unreadable: AuditOutboxPort = { remove: async () => undefined, unsafeWrittenBefore: () => Promise.reject(new Error('cosmos unavailable')), claim: async () => false };
    const log = new RecordingLogger();
    const deps = { ...base, log, auditOutbox: new AuditOutbox({ audit: base.audit, auditOutboxItems: unreadable, log }, 0) };
    await expect(runTimer(seal, deps)).rejects.toThrow('audit outbox');
    expect(log.lines.map((l) => l.message)).toEqual(['appending audit outbox entries failed', TIMER_FAILED]);
    // The month was sealed all the same.
    expect(await base.blobs.blobNames('acme', 'audit-seals/')).toHaveLength(1);
  });

  it('a failing sweep run, as the hosts run it, logs the phrase its own alert watches, once (not also the timer alert\'s), and still fails', async () => {
    const errors: string[] = [];
    const log: Logger = { info: () => undefined, warn: () => undefined, error: (m) => errors.push(m) };
    const base = inMemoryDeps();
    const deps = { ...base, log, retention: { ...base.retention, timers: new UnreadableTimerState() } };
    await expect(runTimer(TIMERS.find((t) => t.name === 'retentionSweep')!, deps)).rejects.toThrow('cosmos unavailable');
    expect(errors).toEqual([SWEEP_FAILED]);
  });

  it('a timer whose run fails, as the hosts run it, logs the phrase the timer alert watches, naming the timer, and still fails', async () => {
    // The fixity check on an unreadable store: it logged nothing of its own.
    const fixity = TIMERS.find((t) => t.name === 'fixityCheck')!;
    const base = inMemoryDeps();
    const log = new RecordingLogger();
    await expect(runTimer(fixity, { ...base, log, retention: { ...base.retention, timers: new UnreadableTimerState() } })).rejects.toThrow('cosmos unavailable');
    expect(log.lines).toEqual([{ level: 'error', message: TIMER_FAILED, fields: { timer: 'fixityCheck', error: 'cosmos unavailable' } }]);
    // Every other timer goes through the same runner.
    for (const timer of TIMERS) {
      const lines = new RecordingLogger();
      await expect(runTimer({ ...timer, run: () => Promise.reject(new Error('down')) }, { ...base, log: lines })).rejects.toThrow('down');
      expect(lines.lines).toEqual([{ level: 'error', message: timer.failureAlert ?? TIMER_FAILED, fields: { timer: timer.name, error: 'down' } }]);
    }
  });
});
