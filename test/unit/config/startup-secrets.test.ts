/**
 * The archive's secrets (the API-key pepper, the audit chain key) are read and checked before
 * anything is served: a missing, empty or weak one refuses start-up, naming the secret, instead of
 * an archive that takes documents while it cannot chain their audit entries (or hashes keys with "x").
 */
import { StaticSecretSource } from '../../../shared/adapters/azure/secrets';
import type { RegionSource } from '../../../shared/adapters/azure/region-guard';
import { buildDeps } from '../../../shared/app';
import { loadConfig } from '../../../shared/config';
import { minimalAzureEnv } from '../../support/config-env';

const azure = loadConfig(minimalAzureEnv);
const northEurope: RegionSource = { storageRegion: async () => 'northeurope', cosmosRegions: async () => ['North Europe'], storageVersionLevelWorm: async () => true };
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
const pepper = 'p'.repeat(36);
const chainKey = 'ab'.repeat(32);
const outcomeKey = 'cd'.repeat(32);

describe('start-up refuses secrets it cannot use', () => {
  it('starts with a pepper, a chain key and the validator outcome key it can use', async () => {
    await expect(buildDeps(azure, { log: quiet, regions: northEurope, secrets: new StaticSecretSource({ 'api-key-pepper': pepper, 'audit-chain-key': chainKey, 'validator-outcome-key': outcomeKey }) })).resolves.toHaveProperty('secrets');
  });

  it('the export app records no validator outcome: it starts without the validator outcome key (it is not given it)', async () => {
    const exportApp = loadConfig({ ...minimalAzureEnv, ARCHIVE_FUNCTIONS_ROLE: 'export-worker' });
    await expect(buildDeps(exportApp, { log: quiet, regions: northEurope, secrets: new StaticSecretSource({ 'api-key-pepper': pepper, 'audit-chain-key': chainKey }) })).resolves.toHaveProperty('secrets');
  });

  it.each([
    ['a missing audit chain key', { 'api-key-pepper': pepper, 'validator-outcome-key': outcomeKey }, /audit-chain-key/],
    ['a missing pepper', { 'audit-chain-key': chainKey, 'validator-outcome-key': outcomeKey }, /api-key-pepper/],
    ['an empty pepper', { 'api-key-pepper': '', 'audit-chain-key': chainKey, 'validator-outcome-key': outcomeKey }, /api-key-pepper/],
    ['a pepper of blanks', { 'api-key-pepper': ' '.repeat(40), 'audit-chain-key': chainKey, 'validator-outcome-key': outcomeKey }, /api-key-pepper/],
    ['a short pepper', { 'api-key-pepper': 'x', 'audit-chain-key': chainKey, 'validator-outcome-key': outcomeKey }, /api-key-pepper/],
    ['a chain key that is not hex', { 'api-key-pepper': pepper, 'audit-chain-key': 'not-a-key', 'validator-outcome-key': outcomeKey }, /audit-chain-key/],
    ['a short chain key', { 'api-key-pepper': pepper, 'audit-chain-key': 'ab'.repeat(16), 'validator-outcome-key': outcomeKey }, /audit-chain-key/],
    // The main app records the Java validator's outcomes: without their key it could check none.
    ['a missing validator outcome key', { 'api-key-pepper': pepper, 'audit-chain-key': chainKey }, /validator-outcome-key/],
    ['a short validator outcome key', { 'api-key-pepper': pepper, 'audit-chain-key': chainKey, 'validator-outcome-key': 'cd'.repeat(16) }, /validator-outcome-key/],
  ])('refuses %s', async (_what, secrets, message) => {
    await expect(buildDeps(azure, { log: quiet, regions: northEurope, secrets: new StaticSecretSource(secrets) })).rejects.toThrow(message);
  });
});
