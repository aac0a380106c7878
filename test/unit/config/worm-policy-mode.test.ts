import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';

const base = minimalLocalEnv;

describe('ARCHIVE_WORM_POLICY_MODE and the retention timers', () => {
  it('defaults to Locked policies and bounded timer runs', () => {
    expect(loadConfig(base)).toMatchObject({ ARCHIVE_WORM_POLICY_MODE: 'Locked', ARCHIVE_SWEEP_MAX_ITEMS: 2000, ARCHIVE_SWEEP_MAX_SECONDS: 240, ARCHIVE_FIXITY_CYCLE_DAYS: 365 });
  });

  it('allows Unlocked locally only', () => {
    expect(loadConfig({ ...base, ARCHIVE_WORM_POLICY_MODE: 'Unlocked' }).ARCHIVE_WORM_POLICY_MODE).toBe('Unlocked');
    expect(() => loadConfig({ ...base, WEBSITE_SITE_NAME: 'archive-prod', ARCHIVE_WORM_POLICY_MODE: 'Unlocked' })).toThrow(/ARCHIVE_WORM_POLICY_MODE: 'Unlocked' is refused when running in Azure/);
    expect(() => loadConfig({ ...base, ARCHIVE_WORM_POLICY_MODE: 'Open' })).toThrow(/ARCHIVE_WORM_POLICY_MODE/);
  });
});
