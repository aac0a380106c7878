import * as fs from 'node:fs';
import type { SigningKey } from '../../local/oidc';

export interface TestEmulators {
  storageConnectionString: string;
  azuritePort: number;
  cosmosEndpoint: string;
  cosmosKey: string;
  issuer: string;
  jwksUri: string;
  signingKey: SigningKey;
}

export function readEmulators(): TestEmulators {
  const file = process.env.ARCHIVE_TEST_EMULATORS;
  if (!file) throw new Error('ARCHIVE_TEST_EMULATORS is not set: integration tests run under the jest global setup');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TestEmulators;
}
