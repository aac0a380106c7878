/**
 * Reads infra/main.bicep and checks the safety properties the archive promises, so a
 * later edit cannot silently drop one. (No Bicep compiler here: a small block reader.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WEB_DOWNLOAD_CORS } from '../../../local/emulators';
import { loadConfig } from '../../../shared/config';
import { webAppDir } from '../../../shared/http/web-app';

const INFRA = path.resolve(__dirname, '..', '..', '..', 'infra');
const bicep = fs.readFileSync(path.join(INFRA, 'main.bicep'), 'utf8');

interface ResourceBlock {
  symbol: string;
  type: string;
  body: string;
  /** `existing`: a reference to a resource deployed elsewhere (or earlier), not deployed here. */
  existing: boolean;
  /** The `if (…)` a conditional resource is deployed under, or null. */
  condition: string | null;
}

/** Every `resource sym 'Type@version' [existing] = [if (…)] { … }` with its brace-matched body (comments dropped). */
function resources(source: string): ResourceBlock[] {
  const text = source.replace(/\/\/.*$/gm, '');
  const out: ResourceBlock[] = [];
  const head = /resource\s+(\w+)\s+'([^'@]+)@[^']+'\s*(existing\s*)?=\s*(?:if\s*\(([^)]*)\)\s*)?\{/g;
  for (let m = head.exec(text); m; m = head.exec(text)) {
    let depth = 1;
    let i = head.lastIndex;
    while (depth > 0 && i < text.length) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}') depth--;
      i++;
    }
    out.push({ symbol: m[1]!, type: m[2]!, body: text.slice(head.lastIndex, i - 1), existing: m[3] !== undefined, condition: m[4]?.trim() ?? null });
  }
  return out;
}

const all = resources(bicep);
const ofType = (type: string) => all.filter((r) => r.type === type);
const one = (symbol: string) => {
  const r = all.find((x) => x.symbol === symbol);
  if (!r) throw new Error(`no resource ${symbol} in main.bicep`);
  return r;
};

describe('infra/main.bicep', () => {
  it('pins every resource to North Europe (or global for alert plumbing)', () => {
    expect(bicep).toMatch(/@allowed\(\[\s*'northeurope'\s*\]\)\s*param location string = 'northeurope'/);
    for (const r of all) {
      const loc = /^\s*location:\s*(.+)$/m.exec(r.body)?.[1]?.trim();
      if (loc === undefined) continue; // child resources inherit
      expect({ resource: r.symbol, location: ['location', "'global'"].includes(loc) }).toEqual({ resource: r.symbol, location: true });
    }
    expect(one('cosmos').body).toMatch(/locationName:\s*location/);
  });

  it('creates the archive account with version-level immutability, versioning, no shared key, TLS 1.2, HTTPS only', () => {
    const storage = one('archiveStorage');
    expect(storage.body).toMatch(/kind:\s*'StorageV2'/);
    expect(storage.body).toMatch(/immutableStorageWithVersioning:\s*\{\s*enabled:\s*true\s*\}/);
    expect(storage.body).toMatch(/allowSharedKeyAccess:\s*false/);
    expect(storage.body).toMatch(/minimumTlsVersion:\s*'TLS1_2'/);
    expect(storage.body).toMatch(/supportsHttpsTrafficOnly:\s*true/);
    expect(storage.body).toMatch(/allowBlobPublicAccess:\s*false/);
    expect(one('archiveBlobService').body).toMatch(/isVersioningEnabled:\s*true/);
    expect(bicep).toMatch(/param archiveRedundancy string = 'Standard_ZRS'/);
  });

  it('turns shared keys, public blobs and cross-tenant replication off, and TLS 1.2 and HTTPS only on, on every storage account', () => {
    const accounts = ofType('Microsoft.Storage/storageAccounts');
    expect(accounts.length).toBeGreaterThanOrEqual(1);
    for (const a of accounts) {
      for (const setting of [/allowSharedKeyAccess:\s*false/, /allowBlobPublicAccess:\s*false/, /allowCrossTenantReplication:\s*false/, /minimumTlsVersion:\s*'TLS1_2'/, /supportsHttpsTrafficOnly:\s*true/]) {
        expect({ account: a.symbol, setting: setting.source, set: setting.test(a.body) }).toEqual({ account: a.symbol, setting: setting.source, set: true });
      }
    }
  });

  it('makes Cosmos Entra-only with continuous backup, and the archive containers with their partition keys', () => {
    const cosmos = one('cosmos');
    expect(cosmos.body).toMatch(/disableLocalAuth:\s*true/);
    expect(cosmos.body).toMatch(/type:\s*'Continuous'/);
    expect(one('database').body).toMatch(/name:\s*'archive'/);
    expect(one('documentsContainer').body).toMatch(/'\/tenantId'/);
    expect(one('auditContainer').body).toMatch(/'\/partition'/);
    expect(one('tenantsContainer').body).toMatch(/'\/tenantId'/);
  });

  it("gives the app on the archive account only the blob rights its adapters use: no container delete, no container-level policies or holds, no Owner", () => {
    const assignments = ofType('Microsoft.Authorization/roleAssignments').filter((r) => /scope:\s*archiveStorage\b/.test(r.body) && /principalId:\s*app\.identity/.test(r.body));
    expect(assignments.map((a) => /roleDefinitionId:\s*(.+)$/m.exec(a.body)?.[1]?.trim()).sort()).toEqual(["archiveWriterRole.id", "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)"]);
    expect(bicep).not.toMatch(/storageBlobDataOwner|b7e6dc6d-f1e8-4753-8033-0f276bb0955b/);
    const role = one('archiveWriterRole').body;
    const listed = (key: string) => [...(new RegExp(`\\b${key}:\\s*\\[([^\\]]*)\\]`).exec(role)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!.replace('Microsoft.Storage/storageAccounts/blobServices/', '')).sort();
    expect(listed('actions')).toEqual(['containers/read', 'containers/write', 'generateUserDelegationKey/action']);
    expect(listed('dataActions')).toEqual([
      'containers/blobs/add/action',
      'containers/blobs/delete',
      'containers/blobs/deleteBlobVersion/action',
      'containers/blobs/immutableStorage/runAsSuperUser/action',
      'containers/blobs/read',
      'containers/blobs/write',
    ]);
    expect(role).not.toMatch(/\*/);
  });

  it('gives the app a custom Cosmos role on the audit container that can only create and read', () => {
    const role = one('auditAppenderRole').body;
    const actions = [...role.matchAll(/'(Microsoft\.DocumentDB\/[^']+)'/g)].map((m) => m[1]);
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a).toMatch(/readMetadata$|items\/create$|items\/read$|executeQuery$/);
    expect(one('appAuditAccess').body).toMatch(/roleDefinitionId:\s*auditAppenderRole\.id/);
  });

  it('puts a delete lock on the archive account and the Cosmos account (catalog and audit log): a Contributor cannot delete either', () => {
    // Written by every privileged deployment (the default); the CI identity can neither write nor remove a lock.
    const locks = ofType('Microsoft.Authorization/locks').filter((l) => l.condition === 'privileged' && /level:\s*'CanNotDelete'/.test(l.body));
    for (const target of ['archiveStorage', 'cosmos']) {
      expect({ target, locked: locks.some((l) => new RegExp(`scope:\\s*${target}\\b`).test(l.body)) }).toEqual({ target, locked: true });
    }
  });

  it('protects the Key Vault with RBAC and purge protection', () => {
    const vault = one('vault').body;
    expect(vault).toMatch(/enableRbacAuthorization:\s*true/);
    expect(vault).toMatch(/enablePurgeProtection:\s*true/);
  });

  describe('the secrets the app refuses to start without (shared/adapters/azure/secrets.ts)', () => {
    const secrets = ofType('Microsoft.KeyVault/vaults/secrets').filter((r) => !r.existing);
    const named = (name: string) => secrets.find((r) => new RegExp(`name:\\s*'${name}'`).test(r.body));

    it('creates the API-key pepper and the audit chain key, so a deployment by the README can start', () => {
      expect(named('api-key-pepper')).toBeDefined();
      expect(named('audit-chain-key')).toBeDefined();
    });

    it('writes them only when asked to seed them: a redeploy never adds a new version (a new chain key version is a rotation, done by hand: README Rotate the audit chain key)', () => {
      expect(bicep).toMatch(/param seedSecrets bool = false/);
      for (const name of ['api-key-pepper', 'audit-chain-key']) expect({ name, condition: named(name)?.condition }).toEqual({ name, condition: 'seedSecrets' });
    });

    it('creates the validator outcome key when seeding, or alone when asked (a deployment seeded before it), from a secure parameter of 32 bytes of hex', () => {
      expect(named('validator-outcome-key')?.condition).toBe('seedSecrets || seedValidatorOutcomeKey');
      expect(bicep).toMatch(/param seedValidatorOutcomeKey bool = false/);
      const decl = /@secure\(\)\s*param validatorOutcomeKey string = (.+)$/m.exec(bicep)?.[1] ?? '';
      expect(decl.match(/replace\(newGuid\(\), '-', ''\)/g)?.length).toBe(2);
      expect(named('validator-outcome-key')!.body).toMatch(/value:\s*validatorOutcomeKey\b/);
    });

    it('lets the app and its export app read the pepper and the chain key, the app and the validator the validator outcome key, not every secret in the vault', () => {
      const readers = ofType('Microsoft.Authorization/roleAssignments').filter((r) => /roles\.keyVaultSecretsUser\b/.test(r.body));
      const scopes = readers.map((r) => /scope:\s*(\w+)/.exec(r.body)?.[1]);
      expect(scopes).not.toContain('vault');
      const secretOf = (symbol: string | undefined) => {
        const r = all.find((x) => x.symbol === symbol && x.type === 'Microsoft.KeyVault/vaults/secrets');
        return r && /name:\s*'([^']+)'/.exec(r.body)?.[1];
      };
      expect(scopes.map(secretOf).sort()).toEqual(['api-key-pepper', 'api-key-pepper', 'audit-chain-key', 'audit-chain-key', 'validator-outcome-key', 'validator-outcome-key']);
      const readersOf = (secret: string) => readers.filter((r) => secretOf(/scope:\s*(\w+)/.exec(r.body)?.[1]) === secret).map((r) => /principalId:\s*(\w+)\.identity\.principalId/.exec(r.body)?.[1]).sort();
      // The export app starts with the same check of both (buildDeps), and keys its audit entries and seals with the chain key.
      for (const secret of ['api-key-pepper', 'audit-chain-key']) expect(readersOf(secret)).toEqual(['app', 'exportApp']);
      // The validator signs its outcomes, the main app checks them; the export app records none.
      expect(readersOf('validator-outcome-key')).toEqual(['app', 'validatorApp']);
    });

    it('seeds the chain key as at least 32 bytes of hex, as the app checks, from a secure parameter', () => {
      const decl = /@secure\(\)\s*param auditChainKey string = (.+)$/m.exec(bicep)?.[1] ?? '';
      // Each dashless GUID is 32 hex digits (16 bytes): two make the 32 bytes parseChainKey asks for.
      expect(decl.match(/replace\(newGuid\(\), '-', ''\)/g)?.length).toBe(2);
      expect(named('audit-chain-key')!.body).toMatch(/value:\s*auditChainKey\b/);
    });
  });

  it('runs the app on Flex Consumption, Linux, Node 20, with a system-assigned identity and HTTPS only', () => {
    expect(one('plan').body).toMatch(/tier:\s*'FlexConsumption'/);
    const app = one('app').body;
    expect(app).toMatch(/type:\s*'SystemAssigned'/);
    expect(app).toMatch(/httpsOnly:\s*true/);
    expect(app).toMatch(/name:\s*'node'\s*version:\s*'20'/);
    expect(app).toMatch(/name: 'ARCHIVE_WORM', value: 'enforce'/);
  });

  it('turns off FTP and basic-auth publishing credentials on every Function App (deployments sign in with Entra ID), and plain http and TLS below 1.2', () => {
    const sites = ofType('Microsoft.Web/sites').filter((r) => !r.existing);
    expect(sites.map((r) => r.symbol).sort()).toEqual(['app', 'exportApp', 'validatorApp']);
    const policies = ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    for (const site of sites) {
      expect(site.body).toMatch(/ftpsState:\s*'Disabled'/);
      // https only, TLS 1.2 at least on the site and on its deployment (SCM) endpoint: the app's HSTS presumes it.
      expect({ site: site.symbol, httpsOnly: /^\s*httpsOnly:\s*true$/m.test(site.body), minTls: /^\s*minTlsVersion:\s*'1\.[23]'$/m.test(site.body), scmMinTls: /^\s*scmMinTlsVersion:\s*'1\.[23]'$/m.test(site.body) }).toEqual({ site: site.symbol, httpsOnly: true, minTls: true, scmMinTls: true });
      for (const kind of ['ftp', 'scm']) {
        const policy = policies.find((p) => new RegExp(`parent:\\s*${site.symbol}\\b`).test(p.body) && new RegExp(`name:\\s*'${kind}'`).test(p.body));
        expect({ site: site.symbol, kind, off: policy !== undefined && policy.condition === null && /allow:\s*false/.test(policy.body) }).toEqual({ site: site.symbol, kind, off: true });
      }
    }
  });

  it('locks every immutability policy: Unlocked (which the app refuses in Azure, and its identity could shorten or delete) is not offered', () => {
    expect(one('app').body).toMatch(/name: 'ARCHIVE_WORM_POLICY_MODE', value: 'Locked'/);
    expect(bicep).not.toMatch(/Unlocked/);
  });

  it('serves the web app from the Function App, signing in with Entra ID (issue #16)', () => {
    const app = one('app').body;
    expect(app).toMatch(/name: 'ARCHIVE_WEB_AUTH', value: 'entra'/);
    expect(app).toMatch(/name: 'ARCHIVE_WEB_CLIENT_ID', value: webClientId/);
    expect(app).toMatch(/name: 'ARCHIVE_WEB_SCOPE', value: webScope/);
    expect(bicep).toMatch(/^output webAppUrl string = 'https:\/\/\$\{app\.properties\.defaultHostName\}\/'/m);
  });

  it('lets the web app\'s origin, and only it, read download links from the archive account by CORS: GET and HEAD, its headers exposed, never Authorization', () => {
    expect(one('archiveBlobService').body).toMatch(/cors:\s*\{\s*corsRules:/);
    // From the source itself: the block reader drops `//…` as a comment, and the origin is https://….
    const from = bicep.indexOf('corsRules:', bicep.indexOf('resource archiveBlobService'));
    const rules = bicep.slice(from, bicep.indexOf('maxAgeInSeconds', from) + 40);
    const list = (name: string) => (new RegExp(`${name}:\\s*\\[([^\\]]*)\\]`).exec(rules)?.[1] ?? '').split('\n').map((l) => l.trim().replace(/^'|'$/g, '')).filter(Boolean);
    expect(rules.match(/allowedOrigins:/g)).toHaveLength(1);
    // The origin the app is served from (the host of the webAppUrl output), and the custom domains an operator names, nothing else.
    const origins = /allowedOrigins:\s*concat\(\[([^\]]*)\],\s*(\w+)\)/.exec(rules);
    expect(origins?.[1]?.split('\n').map((l) => l.trim().replace(/^'|'$/g, '')).filter(Boolean)).toEqual(['https://${app.properties.defaultHostName}']);
    expect(origins?.[2]).toBe('webCustomOrigins');
    expect(bicep).toMatch(/^param webCustomOrigins array = \[\]$/m);
    expect(bicep).toMatch(/^output webAppUrl string = 'https:\/\/\$\{app\.properties\.defaultHostName\}\/'/m);
    expect(list('allowedMethods')).toEqual(['GET', 'HEAD']);
    // The same rule Azurite gets locally (local/emulators.ts), so the local tests exercise what Azure does.
    expect(list('allowedHeaders').join(',')).toBe(WEB_DOWNLOAD_CORS.allowedHeaders);
    expect(list('exposedHeaders').join(',')).toBe(WEB_DOWNLOAD_CORS.exposedHeaders);
    expect(list('exposedHeaders')).toEqual(expect.arrayContaining(['content-length', 'content-range', 'etag', 'content-md5', 'x-ms-*']));
    expect(list('allowedHeaders').map((h) => h.toLowerCase())).not.toContain('authorization');
    expect(list('allowedHeaders')).not.toContain('*');
    expect(rules).toMatch(/maxAgeInSeconds:\s*3600/);
  });

  it('puts no key, connection string or secret in app settings or outputs', () => {
    expect(bicep).not.toMatch(/listKeys\(|listConnectionStrings\(|primaryMasterKey|AccountKey=/);
    const settings = /appSettings:\s*\[([\s\S]*?)\]\s*\}/.exec(one('app').body)?.[1] ?? '';
    expect(settings).not.toMatch(/STORAGE_CONNECTION_STRING|COSMOS_KEY|PEPPER/i);
    for (const line of bicep.split('\n').filter((l) => /^output\s/.test(l))) {
      const value = line.slice(line.indexOf('=') + 1);
      expect(value).not.toMatch(/ConnectionString|listKeys|listSecrets|apiKeyPepper|pepper\.|secret|password/i);
    }
    expect(bicep).toMatch(/@secure\(\)\s*param apiKeyPepper/);
  });

  it('alerts on 5xx rate, storage capacity, failed sweeps and fixity mismatches', () => {
    expect(one('serverErrorsAlert').body).toMatch(/requests\/failed/);
    expect(one('storageCapacityAlert').body).toMatch(/UsedCapacity/);
    expect(one('sweepFailedAlert').body).toMatch(/retention sweep failed/);
    expect(one('fixityAlert').body).toMatch(/fixity mismatch/);
    expect(one('timerFailedAlert').body).toMatch(/timer failed/);
  });

  describe('access that bypasses the app (an operator or another identity on the stores directly)', () => {
    const settings = ofType('Microsoft.Insights/diagnosticSettings');
    const on = (scope: string) => settings.find((d) => new RegExp(`scope:\\s*${scope}\\b`).test(d.body));

    it('sends the archive blobs\' reads, writes and deletes, Key Vault\'s audit events and Cosmos requests to Log Analytics', () => {
      const blobs = on('archiveBlobService')?.body ?? '';
      for (const category of ['StorageRead', 'StorageWrite', 'StorageDelete']) expect(blobs).toMatch(new RegExp(`category:\\s*'${category}'`));
      expect(on('vault')?.body ?? '').toMatch(/categoryGroup:\s*'audit'/);
      const cosmos = on('cosmos')?.body ?? '';
      for (const category of ['ControlPlaneRequests', 'DataPlaneRequests']) expect(cosmos).toMatch(new RegExp(`category:\\s*'${category}'`));
      for (const d of [blobs, on('vault')!.body, cosmos]) expect(d).toMatch(/workspaceId:\s*workspace\.id/);
    });

    it('alerts when anyone but the three apps changes archive blobs or reads or changes the secrets (the export app writes exports, reads both secrets)', () => {
      const blobs = one('archiveChangedOutsideAppAlert').body;
      expect(blobs).toMatch(/StorageBlobLogs/);
      expect(blobs).toMatch(/DeleteBlob/);
      expect(blobs).toMatch(/SetBlobLegalHold/);
      expect(blobs).toMatch(/app\.identity\.principalId/);
      expect(blobs).toMatch(/validatorApp\.identity\.principalId/);
      expect(blobs).toMatch(/exportApp\.identity\.principalId/);
      expect(blobs).toMatch(/actionGroups:\s*\[\s*operators\.id/);
      const secrets = one('secretsOutsideAppAlert').body;
      expect(secrets).toMatch(/MICROSOFT\.KEYVAULT/);
      expect(secrets).toMatch(/"\$\{app\.identity\.principalId\}"/);
      expect(secrets).toMatch(/"\$\{exportApp\.identity\.principalId\}"/);
      expect(secrets).toMatch(/actionGroups:\s*\[\s*operators\.id/);
    });
  });

  it("has the README's and the workflow's deploy commands pass every parameter without a default (the parameters file holds placeholders)", () => {
    const required = [...bicep.matchAll(/^param (\w+) \w+\s*$/gm)].map((m) => m[1]!);
    expect(required).toEqual(expect.arrayContaining(['authIssuer', 'webClientId', 'alertEmail']));
    const readme = fs.readFileSync(path.resolve(INFRA, '..', 'README.md'), 'utf8');
    const workflow = fs.readFileSync(path.resolve(INFRA, '..', '.github', 'workflows', 'deploy.yml'), 'utf8');
    // One line per shell command (continuations joined).
    const deployCommands = (where: string, text: string) =>
      text.replace(/\\\n/g, ' ').split('\n').filter((l) => /az deployment group (create|what-if) .*-f infra\/main\.bicep/.test(l)).map((command) => ({ where, command }));
    const commands = [...deployCommands('README', readme), ...deployCommands('deploy.yml', workflow)];
    expect(commands.length).toBe(3);
    for (const { where, command } of commands) {
      for (const param of required) expect({ where, param, passed: new RegExp(`\\b${param}=`).test(command) }).toEqual({ where, param, passed: true });
    }
  });

  it('keeps the app on a restored Cosmos account: a deployment after a point-in-time restore can name it, and the workflow passes it on', () => {
    expect(bicep).toMatch(/param cosmosAccountName string = ''/);
    expect(bicep).toMatch(/var cosmosName = empty\(cosmosAccountName\) \? .+ : cosmosAccountName/);
    expect(one('cosmos').body).toMatch(/name:\s*cosmosName/);
    expect(one('app').body).toMatch(/name: 'COSMOS_ENDPOINT', value: cosmos\.properties\.documentEndpoint/);
    const workflow = fs.readFileSync(path.resolve(INFRA, '..', '.github', 'workflows', 'deploy.yml'), 'utf8').replace(/\\\n/g, ' ');
    const deploys = workflow.split('\n').filter((l) => /az deployment group (create|what-if)/.test(l));
    expect(deploys.length).toBe(2);
    for (const d of deploys) expect(d).toMatch(/cosmosAccountName="\$\{\{ vars\.COSMOS_ACCOUNT_NAME \}\}"/);
    const readme = fs.readFileSync(path.resolve(INFRA, '..', 'README.md'), 'utf8');
    const restore = readme.slice(readme.indexOf('### Backups and restore'), readme.indexOf('### Operating'));
    expect(restore).toMatch(/cosmosAccountName=/);
    expect(restore).not.toMatch(/then point `COSMOS_ENDPOINT` at the restored account/);
  });

  describe('the CI deployment identity (README, "Deployment identity")', () => {
    const PRIVILEGED = {
      owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
      userAccessAdministrator: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
      rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168',
      contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    };
    const readme = fs.readFileSync(path.resolve(INFRA, '..', 'README.md'), 'utf8');
    const workflow = fs.readFileSync(path.resolve(INFRA, '..', '.github', 'workflows', 'deploy.yml'), 'utf8').replace(/\\\n/g, ' ');
    const principalOf = (body: string) => /principalId:\s*(\w+)\.identity\.principalId/.exec(body)?.[1];
    const guidsOf = (name: string) => {
      const block = new RegExp(`^var ${name} = \\{([\\s\\S]*?)^\\}`, 'm').exec(bicep)?.[1] ?? '';
      return Object.fromEntries([...block.matchAll(/(\w+):\s*'([0-9a-f-]{36})'/g)].map((m) => [`${name}.${m[1]}`, m[2]!]));
    };
    const knownGuids: Record<string, string> = { ...guidsOf('roles'), ...guidsOf('queueRoles'), ...guidsOf('deployerRoles') };
    const listed = (name: string) =>
      (new RegExp(`^var ${name} = \\[([\\s\\S]*?)^\\]`, 'm').exec(bicep)?.[1] ?? '').split('\n').map((l) => l.trim()).filter(Boolean).sort();
    /** The role an assignment gives, as the lists name it: `roles.reader`, or a custom role's name variable. */
    const roleOf = (a: ResourceBlock) => {
      const m = /roleDefinitionId:\s*(?:subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions',\s*([\w.]+)\)|(\w+)\.id)\s*$/m.exec(a.body);
      if (m?.[1]) return m[1];
      const definition = all.find((r) => r.symbol === m?.[2] && r.type === 'Microsoft.Authorization/roleDefinitions');
      return definition && /^\s*name:\s*(\w+)\s*$/m.exec(definition.body)?.[1];
    };
    const azureAssignments = ofType('Microsoft.Authorization/roleAssignments');

    it('holds no Owner, User Access Administrator or Contributor, and neither the README nor the template asks for them', () => {
      for (const id of [PRIVILEGED.owner, PRIVILEGED.userAccessAdministrator, PRIVILEGED.contributor]) expect(bicep).not.toContain(id);
      const deploy = readme.slice(readme.indexOf('## Deploy to Azure'), readme.indexOf('### Onboard a tenant'));
      expect(deploy).not.toMatch(/app registration with Contributor \+ User Access Administrator/);
      expect(deploy).toMatch(/deployerPrincipalId=/);
    });

    it('leaves to a privileged deployment what it cannot write (locks, role definitions, Cosmos DB roles, its own roles), and the workflow deploys unprivileged', () => {
      expect(bicep).toMatch(/^param privileged bool = true$/m);
      expect(bicep).toMatch(/^param deployerPrincipalId string = ''$/m);
      expect(bicep).toMatch(/^var grantDeployer = privileged && !empty\(deployerPrincipalId\)$/m);
      const privilegedOnly = all.filter((r) =>
        ['Microsoft.Authorization/locks', 'Microsoft.Authorization/roleDefinitions', 'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions', 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments'].includes(r.type),
      );
      expect(privilegedOnly.length).toBeGreaterThanOrEqual(8);
      for (const r of privilegedOnly) expect({ resource: r.symbol, condition: r.condition }).toEqual({ resource: r.symbol, condition: expect.stringMatching(/^(privileged|grantDeployer)$/) });
      for (const r of azureAssignments.filter((a) => /principalId:\s*deployerPrincipalId\b/.test(a.body))) expect({ resource: r.symbol, condition: r.condition }).toEqual({ resource: r.symbol, condition: 'grantDeployer' });
      // The apps' Azure role assignments stay in every deployment: the CI identity keeps them (as its condition allows).
      for (const r of azureAssignments.filter((a) => principalOf(a.body) !== undefined)) expect({ resource: r.symbol, condition: r.condition }).toEqual({ resource: r.symbol, condition: null });
      const deploys = workflow.split('\n').filter((l) => /az deployment group (create|what-if)/.test(l));
      expect(deploys.length).toBe(2);
      for (const d of deploys) expect(d).toMatch(/ privileged=false\b/);
      expect(readme).not.toMatch(/az deployment group create[^\n]*privileged=false/);
    });

    it('gets Archive deployer: Contributor without Cosmos DB data-plane role writes, account keys, key-signed SAS or Key Vault access policies', () => {
      const role = one('deployerRole');
      expect(role.condition).toBe('grantDeployer');
      const list = (key: string) => [...(new RegExp(`\\b${key}:\\s*\\[([^\\]]*)\\]`).exec(role.body)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!);
      expect(list('actions')).toEqual(['*']);
      expect(list('notActions')).toEqual(
        expect.arrayContaining([
          'Microsoft.Authorization/*/Delete',
          'Microsoft.Authorization/*/Write',
          'Microsoft.Authorization/elevateAccess/Action',
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions/write',
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/write',
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/delete',
          'Microsoft.DocumentDB/databaseAccounts/listKeys/*',
          'Microsoft.DocumentDB/databaseAccounts/readonlyKeys/*',
          'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/*',
          'Microsoft.Storage/storageAccounts/listKeys/action',
          'Microsoft.Storage/storageAccounts/listAccountSas/action',
          'Microsoft.Storage/storageAccounts/listServiceSas/action',
          'Microsoft.KeyVault/vaults/accessPolicies/write',
        ]),
      );
      expect(list('dataActions')).toEqual([]);
      const assignment = one('deployerResources');
      expect(assignment.body).toMatch(/roleDefinitionId:\s*deployerRole\.id\s*$/m);
      expect(assignment.body).toMatch(/principalType:\s*'ServicePrincipal'/);
    });

    it("may assign only the roles the template gives each app, to that app's identity only: never Owner, User Access Administrator or RBAC Administrator", () => {
      for (const [app, list] of [['app', 'appAssignableRoles'], ['exportApp', 'exportAppAssignableRoles'], ['validatorApp', 'validatorAssignableRoles']] as const) {
        const given = [...new Set(azureAssignments.filter((a) => principalOf(a.body) === app).map(roleOf))].sort();
        expect({ app, roles: listed(list) }).toEqual({ app, roles: given });
        for (const entry of listed(list)) {
          // Each entry is a built-in role's GUID from the role tables, or a custom role this template defines.
          const id = knownGuids[entry];
          const custom = ofType('Microsoft.Authorization/roleDefinitions').some((r) => new RegExp(`^\\s*name:\\s*${entry}\\s*$`, 'm').test(r.body));
          expect({ entry, resolved: id !== undefined || custom }).toEqual({ entry, resolved: true });
          expect(Object.values(PRIVILEGED)).not.toContain(id);
        }
      }
      // Every Azure role assignment in the template is to one of the three apps or to the CI identity itself.
      for (const a of azureAssignments) expect({ resource: a.symbol, to: principalOf(a.body) ?? /principalId:\s*(\w+)/.exec(a.body)?.[1] }).toEqual({ resource: a.symbol, to: expect.stringMatching(/^(app|exportApp|validatorApp|deployerPrincipalId)$/) });
    });

    it('limits its RBAC Administrator role by a condition (2.0) that pairs each app identity with its own roles, for creating and for deleting assignments', () => {
      const admin = one('deployerAccessAdmin');
      expect(admin.condition).toBe('grantDeployer');
      expect(admin.body).toMatch(/roleDefinitionId:\s*subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', deployerRoles\.rbacAdministrator\)/);
      expect(knownGuids['deployerRoles.rbacAdministrator']).toBe(PRIVILEGED.rbacAdministrator);
      expect(admin.body).toMatch(/principalId:\s*deployerPrincipalId\s*$/m);
      expect(admin.body).toMatch(/conditionVersion:\s*'2\.0'/);
      const condition = (/condition:\s*'(.*)'\s*$/m.exec(admin.body)?.[1] ?? '').replace(/\\'/g, "'");
      const pair = /\(@(Request|Resource)\[Microsoft\.Authorization\/roleAssignments:PrincipalId\] ForAnyOfAnyValues:GuidEquals \{\$\{(\w+)\.identity\.principalId\}\} AND @\1\[Microsoft\.Authorization\/roleAssignments:RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals \{\$\{join\((\w+), ', '\)\}\}\)/g;
      const pairs = [...condition.matchAll(pair)].map((m) => `${m[1]}: ${m[2]} with ${m[3]}`);
      expect(pairs).toEqual([
        'Request: app with appAssignableRoles',
        'Request: exportApp with exportAppAssignableRoles',
        'Request: validatorApp with validatorAssignableRoles',
        'Resource: app with appAssignableRoles',
        'Resource: exportApp with exportAppAssignableRoles',
        'Resource: validatorApp with validatorAssignableRoles',
      ]);
      // Nothing else in it: no other attribute, no clause that lets an assignment through unchecked.
      expect(condition.replace(pair, 'P')).toBe(
        "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (P OR P OR P)) AND ((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (P OR P OR P))",
      );
    });
  });

  it('ships the documents indexing policy it loads', () => {
    const policy = JSON.parse(fs.readFileSync(path.join(INFRA, 'cosmos-documents-indexing-policy.json'), 'utf8')) as { compositeIndexes?: unknown[] };
    expect(Array.isArray(policy.compositeIndexes)).toBe(true);
  });

  it('ships the audit indexing policy it loads: a month listed newest first by time, equal instants in chain order', () => {
    expect(one('auditContainer').body).toMatch(/indexingPolicy:\s*loadJsonContent\('cosmos-audit-indexing-policy\.json'\)/);
    const policy = JSON.parse(fs.readFileSync(path.join(INFRA, 'cosmos-audit-indexing-policy.json'), 'utf8')) as { compositeIndexes: unknown[] };
    expect(policy.compositeIndexes).toContainEqual([{ path: '/at', order: 'descending' }, { path: '/id', order: 'descending' }]);
  });

  it("leaves an export job's Bloom filter out of the tenants container's index", () => {
    expect(one('tenantsContainer').body).toMatch(/indexingPolicy:\s*loadJsonContent\('cosmos-tenants-indexing-policy\.json'\)/);
    const policy = JSON.parse(fs.readFileSync(path.join(INFRA, 'cosmos-tenants-indexing-policy.json'), 'utf8')) as { excludedPaths: { path: string }[] };
    expect(policy.excludedPaths.map((p) => p.path)).toContain('/disposableFilter/?');
  });

  describe('the rendition validation app (issue #14)', () => {
    const principalOf = (body: string) => /principalId:\s*(\w+)\.identity\.principalId/.exec(body)?.[1];
    const assignmentsOf = (app: string) => all.filter((r) => principalOf(r.body) === app);

    it('runs on its own Flex Consumption plan, Java 17, system-assigned identity, HTTPS only, in the same region', () => {
      const plan = one('validatorPlan').body;
      expect(plan).toMatch(/tier:\s*'FlexConsumption'/);
      expect(plan).toMatch(/location:\s*location/);
      const app = one('validatorApp').body;
      expect(app).toMatch(/location:\s*location/);
      expect(app).toMatch(/serverFarmId:\s*validatorPlan\.id/);
      expect(app).toMatch(/type:\s*'SystemAssigned'/);
      expect(app).toMatch(/httpsOnly:\s*true/);
      expect(app).toMatch(/name:\s*'java'\s*version:\s*'17'/);
      expect(app).not.toMatch(/STORAGE_CONNECTION_STRING|AccountKey|COSMOS/i);
      // The key it signs outcomes with: a Key Vault reference to its own secret (OutcomeSignature.java reads the setting).
      expect(app).toContain("{ name: 'ARCHIVE_VALIDATOR_OUTCOME_KEY', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/validator-outcome-key/)' }");
      expect(fs.readFileSync(path.resolve(INFRA, '..', 'validator/src/main/java/archive/validator/OutcomeSignature.java'), 'utf8')).toContain('SETTING = "ARCHIVE_VALIDATOR_OUTCOME_KEY"');
    });

    it('has the queue, its poison queue and the outcome queues', () => {
      const names = ofType('Microsoft.Storage/storageAccounts/queueServices/queues').map((q) => /name:\s*'([^']+)'/.exec(q.body)?.[1]);
      expect(names.sort()).toEqual(['export-work', 'export-work-poison', 'rendition-validation', 'rendition-validation-outcome', 'rendition-validation-outcome-poison', 'rendition-validation-poison']);
    });

    it('gives its identity least rights: read renditions, create validation.json only, no delete, no Cosmos, queue roles scoped to one queue each', () => {
      const role = one('validatorBlobRole').body;
      const dataActions = [...role.matchAll(/'(Microsoft\.Storage\/[^']+)'/g)].map((m) => m[1]);
      expect(dataActions.sort()).toEqual(['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read', 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'].sort());
      expect(role).not.toMatch(/delete|\*/i);
      const assignments = assignmentsOf('validatorApp');
      expect(assignments.length).toBeGreaterThan(0);
      for (const a of assignments) {
        expect(a.type).toBe('Microsoft.Authorization/roleAssignments');
        // On the archive account and its queues: no broad role at all (the runtime account is the host's own).
        // Its own outcome key is the one secret it reads (Secrets User on that secret, not the vault).
        if (/scope:\s*validatorOutcomeKeySecret\b/.test(a.body)) expect(a.body).toMatch(/roles\.keyVaultSecretsUser\)/);
        else if (!/scope:\s*(validatorRuntimeStorage|insights)\b/.test(a.body)) expect(a.body).not.toMatch(/roles\.|storageBlobDataOwner|Contributor/);
      }
      const blob = assignments.find((a) => /validatorBlobRole\.id/.test(a.body))!.body;
      // ABAC: writes only to blobs named validation.json; reads stay allowed.
      expect(blob).toMatch(/conditionVersion:\s*'2\.0'/);
      expect(blob).toMatch(/blobs\/write/);
      expect(blob).toMatch(/validation\.json/);
      const rolesOn = (queue: string) => assignments.filter((a) => new RegExp(`scope:\\s*${queue}\\b`).test(a.body)).map((a) => /queueRoles\.(\w+)\)/.exec(a.body)?.[1]).sort();
      expect(rolesOn('validationQueue')).toEqual(['messageProcessor', 'reader']);
      expect(rolesOn('validationOutcomeQueue')).toEqual(['messageSender']);
      expect(ofType('Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments').some((r) => principalOf(r.body) === 'validatorApp')).toBe(false);
    });

    it('reads only renditions and validation reports in tenant document containers: no originals, manifests, exports or audit seals', () => {
      const condition = /condition:\s*'(.*)'\s*$/m.exec(one('validatorBlobAccess').body)?.[1] ?? '';
      // One clause per data action: each names the action it narrows and the blobs it allows.
      const clauses = condition.split(/\)\s*AND\s*\(\(!/).map((c) => c.replace(/\\'/g, "'"));
      const clauseFor = (action: string) => clauses.find((c) => c.includes(`ActionMatches{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/${action}'}`)) ?? '';
      const read = clauseFor('read');
      expect(read).toMatch(/containers:name\] StringStartsWith 'tenant-'/);
      expect([...read.matchAll(/StringLike '([^']+)'/g)].map((m) => m[1]).sort()).toEqual(['*/rendition.pdf', '*/validation.json']);
      const write = clauseFor('write');
      expect(write).toMatch(/containers:name\] StringStartsWith 'tenant-'/);
      expect([...write.matchAll(/StringLike '([^']+)'/g)].map((m) => m[1])).toEqual(['*/validation.json']);
    });

    it("keeps its host storage apart from the Node app's: it cannot rewrite that app's package or read its host keys", () => {
      const runtimeOf = (site: string) => {
        const body = one(site).body;
        const host = /name: 'AzureWebJobsStorage__accountName', value: (\w+)\.name/.exec(body)?.[1];
        const pkg = /value: '\$\{(\w+)\.properties\.primaryEndpoints\.blob\}[\w-]+'/.exec(body)?.[1];
        expect({ site, pkg }).toEqual({ site, pkg: host });
        return host!;
      };
      const [node, java, exporter] = [runtimeOf('app'), runtimeOf('validatorApp'), runtimeOf('exportApp')];
      expect(new Set([node, java, exporter]).size).toBe(3);
      // Every data role on a host account belongs to that account's own app.
      for (const [account, owner] of [[node, 'app'], [java, 'validatorApp'], [exporter, 'exportApp']] as const) {
        for (const a of ofType('Microsoft.Authorization/roleAssignments').filter((r) => new RegExp(`scope:\\s*${account}\\b`).test(r.body))) {
          expect({ account, principal: principalOf(a.body) }).toEqual({ account, principal: owner });
        }
      }
    });

    it('gives every identity a queue trigger runs as both roles a trigger needs (Reader and Message Processor), on that queue only', () => {
      const queueAssignments = ofType('Microsoft.Authorization/roleAssignments').filter((r) => /queueRoles\./.test(r.body));
      const key = (a: ResourceBlock) => `${principalOf(a.body)} on ${/scope:\s*(\w+)/.exec(a.body)?.[1]}`;
      const processors = queueAssignments.filter((a) => /queueRoles\.messageProcessor\)/.test(a.body)).map(key).sort();
      expect(processors).toEqual(['app on validationOutcomeQueue', 'exportApp on exportWorkQueue', 'validatorApp on validationQueue']);
      expect(queueAssignments.filter((a) => /queueRoles\.reader\)/.test(a.body)).map(key).sort()).toEqual(processors);
    });

    it('alerts on a failed validation of a claimed rendition and on poison messages', () => {
      expect(one('validationFailedAlert').body).toMatch(/rendition validation failed/);
      expect(one('validationPoisonAlert').body).toMatch(/rendition-validation-poison/);
      expect(one('validationPoisonAlert').body).toMatch(/rendition-validation-outcome-poison/);
    });

    it('runs exports from the export-work queue: the Node app sends it, the export app consumes it and sends to its poison queue only, and is alerted on poison', () => {
      const rolesOn = (app: string, queue: string) => assignmentsOf(app).filter((a) => new RegExp(`scope:\\s*${queue}\\b`).test(a.body)).map((a) => /queueRoles\.(\w+)\)/.exec(a.body)?.[1]).sort();
      // The main app no longer consumes it: an export attempt there was cut at its 10-minute timeout.
      expect(rolesOn('app', 'exportWorkQueue')).toEqual(['messageSender']);
      expect(rolesOn('app', 'exportWorkPoisonQueue')).toEqual([]);
      expect(rolesOn('exportApp', 'exportWorkQueue')).toEqual(['messageProcessor', 'reader']);
      expect(rolesOn('exportApp', 'exportWorkPoisonQueue')).toEqual(['messageSender']);
      expect(assignmentsOf('validatorApp').filter((a) => /exportWork/.test(a.body))).toEqual([]);
      expect(one('exportWorkPoisonAlert').body).toMatch(/export-work-poison/);
    });
  });
});


describe('the export app: runExportWork alone, under a longer timeout than the main app\'s 10 minutes', () => {
  const principalOf = (body: string) => /principalId:\s*(\w+)\.identity\.principalId/.exec(body)?.[1];
  const settingsOf = (symbol: string) => new Map([...(/appSettings:\s*\[([\s\S]*?)\n\s*\]/.exec(one(symbol).body)?.[1] ?? '').matchAll(/\{ name: '([^']+)', value: (.+) \}/g)].map((m) => [m[1]!, m[2]!]));
  const hostJson = JSON.parse(fs.readFileSync(path.resolve(INFRA, '..', 'host.json'), 'utf8')) as { functionTimeout: string };

  it('runs the same Node 20 package on its own Flex Consumption plan, with its own identity, as export-worker; the main app as api', () => {
    expect(one('exportPlan').body).toMatch(/tier:\s*'FlexConsumption'/);
    const app = one('exportApp').body;
    expect(app).toMatch(/serverFarmId:\s*exportPlan\.id/);
    expect(app).toMatch(/type:\s*'SystemAssigned'/);
    expect(app).toMatch(/name:\s*'node'\s*version:\s*'20'/);
    expect(settingsOf('exportApp').get('ARCHIVE_FUNCTIONS_ROLE')).toBe("'export-worker'");
    expect(settingsOf('app').get('ARCHIVE_FUNCTIONS_ROLE')).toBe("'api'");
    expect(bicep).toMatch(/^output exportAppName string = exportApp\.name$/m);
    // The workflow deploys the same app.zip to it, as to the main app.
    const workflow = fs.readFileSync(path.resolve(INFRA, '..', '.github', 'workflows', 'deploy.yml'), 'utf8');
    expect(workflow).toContain('echo "EXPORT_APP_NAME=$(jq -r .exportAppName.value outputs.json)" >> "$GITHUB_ENV"');
    const deploys = workflow.split(/\n(?=\s*- (?:name|uses): )/).filter((step) => /uses: Azure\/functions-action@v1/.test(step));
    const packageOf = (name: string) => deploys.find((step) => step.includes(`app-name: \${{ env.${name} }}`))?.match(/package: (\S+)/)?.[1];
    expect({ main: packageOf('APP_NAME'), exporter: packageOf('EXPORT_APP_NAME') }).toEqual({ main: 'app.zip', exporter: 'app.zip' });
  });

  it('overrides the 10-minute functionTimeout for the export app alone; host.json keeps it for the main app (the reconciler\'s bounds)', () => {
    expect(hostJson.functionTimeout).toBe('00:10:00');
    const timeout = /^'(\d\d):(\d\d):(\d\d)'$/.exec(settingsOf('exportApp').get('AzureFunctionsJobHost__functionTimeout') ?? '');
    expect(timeout).not.toBeNull();
    const minutes = Number(timeout![1]) * 60 + Number(timeout![2]);
    expect(minutes).toBeGreaterThan(10);
    expect(settingsOf('app').has('AzureFunctionsJobHost__functionTimeout')).toBe(false);
  });

  it('has every setting of the main app the config loader reads, as the main app has it, but the web app\'s', () => {
    const [main, exporter] = [settingsOf('app'), settingsOf('exportApp')];
    for (const [name, value] of main) {
      if (name.startsWith('ARCHIVE_WEB_') || name === 'ARCHIVE_FUNCTIONS_ROLE' || name.startsWith('AzureWebJobsStorage')) continue;
      expect({ name, value: exporter.get(name) }).toEqual({ name, value });
    }
    expect([...exporter.keys()].filter((name) => name.startsWith('ARCHIVE_WEB_'))).toEqual([]);
  });

  it('gives its identity what the export path touches: Cosmos as the main app, the archive\'s blobs read and exports-* written, both secrets, export-work consumed', () => {
    const cosmos = ofType('Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments').filter((r) => principalOf(r.body) === 'exportApp');
    expect(cosmos.map((r) => /scope:\s*'\$\{cosmos\.id\}\/dbs\/archive\/colls\/(\w+)'/.exec(r.body)?.[1]).sort()).toEqual(['audit', 'documents', 'tenants']);
    expect(cosmos.find((r) => /colls\/audit/.test(r.body))!.body).toMatch(/roleDefinitionId:\s*auditAppenderRole\.id/);
    const blobRoles = ofType('Microsoft.Authorization/roleAssignments').filter((r) => principalOf(r.body) === 'exportApp' && /scope:\s*archiveStorage\b/.test(r.body) && !/roles\.reader/.test(r.body));
    expect(blobRoles.map((r) => /roleDefinitionId:\s*(\w+)\.id/.exec(r.body)?.[1])).toEqual(['archiveExporterRole']);
    const blob = blobRoles[0]!.body;
    expect(blob).toMatch(/conditionVersion:\s*'2\.0'/);
    const condition = (/condition:\s*'(.*)'\s*$/m.exec(blob)?.[1] ?? '').replace(/\\'/g, "'");
    // Every write and delete data action the role grants is narrowed to exports-* containers; reads are not.
    const role = one('archiveExporterRole').body;
    const granted = [...role.matchAll(/'(Microsoft\.Storage\/storageAccounts\/blobServices\/containers\/blobs\/[^']+)'/g)].map((m) => m[1]!).filter((a) => !a.endsWith('/read'));
    expect(granted.length).toBeGreaterThanOrEqual(4);
    for (const action of granted) expect(condition).toContain(`!(ActionMatches{'${action}'})`);
    expect(condition).not.toContain('blobs/read');
    expect(condition).toMatch(/OR \(@Resource\[Microsoft\.Storage\/storageAccounts\/blobServices\/containers:name\] StringStartsWith 'exports-'\)\)$/);
  });

  it('gives it a role of its own on the archive: no delegation key (it signs no link), no immutability rights, no container creation, no blob write a condition cannot narrow', () => {
    // Broke: it held Archive writer, whose control-plane actions no assignment condition binds, so it could get a user
    // delegation key and sign read links to any blob, and put policies and holds on exports.
    const role = one('archiveExporterRole');
    expect(role.condition).toBe('privileged');
    const listed = (key: string) => [...(new RegExp(`\\b${key}:\\s*\\[([^\\]]*)\\]`).exec(role.body)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!.replace('Microsoft.Storage/storageAccounts/blobServices/', '')).sort();
    // No action: a condition cannot bind one. Broke: containers/write (the worker created exports-<tenant>) let the export
    // app create a container of any name; the main app creates it at POST /exports.
    expect(listed('actions')).toEqual([]);
    expect(role.body).not.toContain('containers/write');
    expect(listed('dataActions')).toEqual(['containers/blobs/add/action', 'containers/blobs/delete', 'containers/blobs/deleteBlobVersion/action', 'containers/blobs/read', 'containers/blobs/write']);
    expect(role.body).not.toMatch(/generateUserDelegationKey|runAsSuperUser/);
    expect(ofType('Microsoft.Authorization/roleAssignments').filter((r) => principalOf(r.body) === 'exportApp' && /archiveWriterRole/.test(r.body))).toEqual([]);
    // The export worker never signs: no link signer in what it runs.
    const worker = ['run-export.ts', 'queued-export.ts'].map((f) => fs.readFileSync(path.resolve(INFRA, '..', 'shared', 'exports', f), 'utf8')).join('\n');
    expect(worker).not.toMatch(/\.links\b|getUserDelegationKey/);
  });
});

describe('what the Function App runs: the workflow\'s package and func start\'s local settings', () => {
  const ROOT = path.resolve(INFRA, '..');
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
  const connections = [...new Set([...read('functions/index.ts').matchAll(/connection:\s*'(\w+)'/g)].map((m) => m[1]!))];

  it('packages the web app: the workflow zipped dist and node_modules but not web/dist, so / in Azure served no app', () => {
    const zip = /^\s*zip -qr app\.zip (.+)$/m.exec(read('.github/workflows/deploy.yml'))?.[1] ?? '';
    const [included = '', excluded = ''] = zip.split(' -x ');
    const paths = included.split(/\s+/).filter(Boolean);
    const web = path.relative(ROOT, webAppDir({}, path.join(ROOT, 'dist', 'shared', 'http')));
    for (const needed of ['host.json', 'package.json', 'dist', 'node_modules', web]) expect({ needed, packaged: paths.includes(needed) }).toEqual({ needed, packaged: true });
    expect(excluded).not.toMatch(/web/);
  });

  it('names every connection a queue trigger binds, locally and in Azure: func start found no ArchiveStorage setting', () => {
    expect(connections.length).toBeGreaterThan(0);
    const local = (JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> }).Values;
    for (const name of connections) {
      expect({ name, local: typeof local[name] === 'string' || typeof local[`${name}__queueServiceUri`] === 'string' }).toEqual({ name, local: true });
      expect({ name, azure: bicep.includes(`'${name}__queueServiceUri'`) }).toEqual({ name, azure: true });
    }
    expect(() => loadConfig(local)).not.toThrow();
  });

  it("has func's publish (.funcignore) upload what the workflow's app.zip holds, no more: without it func uploaded .local/, test/, web/src, bench/", () => {
    const zip = /^\s*zip -qr app\.zip (.+)$/m.exec(read('.github/workflows/deploy.yml'))?.[1] ?? '';
    const [included = '', excluded = ''] = zip.split(' -x ');
    const unquote = (list: string) => list.split(/\s+/).filter(Boolean).map((p) => p.replace(/^'|'$/g, ''));
    const zipped = (file: string) =>
      unquote(included).some((p) => file === p || file.startsWith(`${p}/`)) && !unquote(excluded).some((p) => file.startsWith(p.replace(/\*$/, '')));
    // func's matcher (Core Tools' GitIgnoreParser): each line is a regex anchored at the start of the path, `*` one
    // segment, `**` anything; a file is left out when a line matches it and no `!` line does.
    const lines = read('.funcignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const regex = (patterns: string[]) => patterns.length === 0 ? /$^/ : new RegExp(`^((${patterns.map((p) =>
      p.replace(/^\//, '').replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&').replace(/\*\*/g, '(.+)').replace(/\*/g, '([^\\/]+)')).join(')|(')}))`);
    const [denied, admitted] = [regex(lines.filter((l) => !l.startsWith('!'))), regex(lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1)))];
    const published = (file: string) => admitted.test(file) || !denied.test(file);
    // Every path there is or may be: each entry of the checkout and of web/, what .gitignore names (made by builds and
    // runs), dist/ as the build writes it (one folder per source folder), and what app.zip keeps.
    const sample = (dir: string, entry: string) => {
      const file = dir ? `${dir}/${entry}` : entry;
      return fs.existsSync(path.join(ROOT, file)) && fs.statSync(path.join(ROOT, file)).isDirectory() ? `${file}/a.js` : file;
    };
    const ignored = read('.gitignore').split('\n').filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.replace(/^\/|\/$/g, '').replace('*', 'npm-debug'));
    const files = [
      ...fs.readdirSync(ROOT).map((e) => sample('', e)),
      ...fs.readdirSync(path.join(ROOT, 'web')).map((e) => sample('web', e)),
      ...ignored.map((e) => (/\.\w+$/.test(e) ? e : `${e}/a.js`)),
      ...['bench', 'cli', 'functions', 'infra', 'local', 'shared', 'test', 'tools', 'web'].map((d) => `dist/${d}/a.js`),
      'host.json', 'package.json', 'web/dist/index.html', 'node_modules/@azure/functions/package.json',
    ];
    for (const file of new Set(files)) expect({ file, published: published(file) }).toEqual({ file, published: zipped(file) });
    expect(files.filter(zipped).length).toBeGreaterThan(5);
  });

  it('keeps every log line the alerts look for: Application Insights sampling drops no trace in either app', () => {
    // The log-based alerts query `traces` (42 of them): with traces sampled (the host's default), an alert phrase logged
    // once, such as a fixity mismatch or an unsealed record, could be dropped before it reached the workspace, and no
    // alert fired. Requests stay unsampled too; the rest (dependencies) may be sampled.
    const queries = [...fs.readFileSync(path.join(ROOT, 'infra/main.bicep'), 'utf8').matchAll(/query: '(\w+)/g)].map((m) => m[1]);
    expect(queries.filter((t) => t === 'traces').length).toBeGreaterThan(30);
    for (const file of ['host.json', 'validator/host.json']) {
      const sampling = (JSON.parse(read(file)) as { logging?: { applicationInsights?: { samplingSettings?: { isEnabled?: boolean; excludedTypes?: string } } } }).logging?.applicationInsights?.samplingSettings;
      const excluded = (sampling?.excludedTypes ?? '').split(';').map((t) => t.trim());
      expect({ file, unsampled: sampling?.isEnabled === false || (excluded.includes('Trace') && excluded.includes('Request')) }).toEqual({ file, unsampled: true });
    }
  });

  it("bounds each queue trigger's work on an instance: by default batchSize 16 + newBatchThreshold 8 let one instance run 24 exports at once", () => {
    const queues = (JSON.parse(read('host.json')) as { extensions: { queues?: Record<string, unknown> } }).extensions.queues ?? {};
    // The host runs up to batchSize + newBatchThreshold messages of one function at once (newBatchThreshold defaults to
    // half the batch per vCPU), so both are set.
    expect({ batchSize: typeof queues.batchSize, newBatchThreshold: typeof queues.newBatchThreshold }).toEqual({ batchSize: 'number', newBatchThreshold: 'number' });
    expect((queues.batchSize as number) + (queues.newBatchThreshold as number)).toBeLessThanOrEqual(4);
    expect(queues.batchSize).toBeGreaterThanOrEqual(1);
    // Five deliveries, then the poison queue (README, the Bicep's alert on poison queues).
    expect(queues.maxDequeueCount).toBe(5);
  });
});

describe('what the validation Function App runs: the package validator/pom.xml stages, deployed to the Bicep\'s validator app', () => {
  const ROOT = path.resolve(INFRA, '..');
  const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
  const pom = read('validator/pom.xml');
  const workflow = read('.github/workflows/deploy.yml');
  const steps = workflow.split(/\n(?=\s*- (?:name|uses): )/);
  const plugin = /<artifactId>azure-functions-maven-plugin<\/artifactId>([\s\S]*?)<\/plugin>/.exec(pom)?.[1] ?? '';
  const property = /<appName>\$\{([\w.]+)\}<\/appName>/.exec(plugin)?.[1] ?? 'no appName property';
  const staged = new RegExp(`<${property}>([\\w-]+)</${property}>`).exec(pom)?.[1] ?? 'no staging folder';

  it('stages function.json per function, host.json, the jar and lib/ for the Java host, Linux and Java 17: `mvn package` made no function.json, so in Azure every document stayed `validation: pending`', () => {
    expect(plugin).toMatch(/<goal>package<\/goal>/);
    expect(plugin).toMatch(/<os>linux<\/os>/);
    expect(plugin).toMatch(/<javaVersion>17<\/javaVersion>/);
    expect(staged).toMatch(/^[\w-]+$/);
    expect(read('.ci/run')).toMatch(/^mvn .*-f validator\/pom\.xml .*package$/m);
    expect(one('validatorApp').body).toMatch(/name:\s*'java'\s*version:\s*'17'/);
  });

  it("binds the queue trigger to settings the Bicep gives the validator app", () => {
    const java = read('validator/src/main/java/archive/validator/ValidateRendition.java');
    const trigger = /@QueueTrigger\(([^)]*)\)/.exec(java)?.[1] ?? '';
    const connection = /connection = "(\w+)"/.exec(trigger)?.[1];
    const queueSetting = /queueName = "%(\w+)%"/.exec(trigger)?.[1];
    const app = one('validatorApp').body;
    for (const setting of [`${connection}__queueServiceUri`, `${connection}__credential`, queueSetting]) expect({ setting, set: app.includes(`name: '${setting}'`) }).toEqual({ setting, set: true });
  });

  it("zips the staged folder in CI and deploys it to the Bicep's validatorAppName, as the Node app is deployed; README's From zero does it by hand", () => {
    expect(workflow).toContain(`cd validator/target/azure-functions/${staged} && zip -qr "$GITHUB_WORKSPACE/validator.zip" .`);
    expect(steps.some((s) => /upload-artifact@v4/.test(s) && /name: validator$/m.test(s) && /path: validator\.zip/.test(s))).toBe(true);
    expect(steps.some((s) => /download-artifact@v4/.test(s) && /name: validator$/m.test(s))).toBe(true);
    expect(bicep).toMatch(/^output validatorAppName string = validatorApp\.name$/m);
    expect(workflow).toContain('echo "VALIDATOR_APP_NAME=$(jq -r .validatorAppName.value outputs.json)" >> "$GITHUB_ENV"');
    const deploys = steps.filter((s) => /uses: Azure\/functions-action@v1/.test(s));
    const validator = deploys.find((s) => /package: validator\.zip/.test(s)) ?? '';
    expect(validator).toMatch(/app-name: \$\{\{ env\.VALIDATOR_APP_NAME \}\}/);
    expect(validator).toMatch(/sku: flexconsumption/);
    const readme = read('README.md');
    const fromZero = readme.slice(readme.indexOf('### From zero'), readme.indexOf('### Deployment identity'));
    expect(fromZero).toContain(`mvn -f validator/pom.xml package`);
    expect(fromZero).toMatch(/az functionapp deployment source config-zip .*-n <validatorAppName> --src validator\.zip/);
  });
});
