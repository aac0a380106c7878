// Document archive: everything it runs on, in one resource group, in North Europe.
// Deploy: az deployment group create -g <rg> -f infra/main.bicep -p infra/main.parameters.json
targetScope = 'resourceGroup'

@description('Azure region. The archive promises EU data residency in North Europe; other regions are refused here and by the app\'s region guard.')
@allowed([
  'northeurope'
])
param location string = 'northeurope'

@description('Short name used to derive resource names (lowercase letters and digits).')
@minLength(3)
@maxLength(11)
param namePrefix string = 'docarchive'

@description('Blob redundancy for the archive account. ZRS keeps every copy inside North Europe (three zones). GZRS adds a copy in the paired region West Europe (still EU, but outside the promised region): choose it only if the customer contract allows.')
@allowed([
  'Standard_ZRS'
  'Standard_GZRS'
])
param archiveRedundancy string = 'Standard_ZRS'

@description('Entra ID issuer of user tokens, e.g. https://login.microsoftonline.com/<tenant-id>/v2.0')
param authIssuer string

@description('Audience of the archive API: its registration\'s Application (client) ID, which is what Entra v2 access tokens carry as aud (never the Application ID URI).')
param authAudience string

@description('JWKS of the issuer, e.g. https://login.microsoftonline.com/<tenant-id>/discovery/v2.0/keys')
param authJwksUri string

@description('Claim that names the archive tenant in user tokens.')
param authTenantClaim string = 'archive_tenant'

@description('Client id of the web app\'s Entra ID registration: a single-page application (public client, authorization code + PKCE) whose redirect URI is the output webAppUrl. See README, "Web app".')
param webClientId string

@description('Entra authority the web app signs in with; default: the issuer without /v2.0.')
param webAuthority string = replace(authIssuer, '/v2.0', '')

@description('Scope the web app asks for: the archive API\'s exposed scope under its Application ID URI (default: the portal\'s api://<client id>).')
param webScope string = 'api://${authAudience}/archive.access'

@description('Origins (https://host, no path) the web app is also served under, e.g. a custom domain bound to the Function App: each may read a large download\'s storage link (Blob CORS). The default host name is always allowed.')
param webCustomOrigins array = []

@description('After a point-in-time restore of Cosmos DB: the restored account\'s name, so this and every later deployment keeps the app (COSMOS_ENDPOINT, data-plane roles, lock, diagnostics) on it. Empty: the account this template names.')
param cosmosAccountName string = ''

@description('Where operational alerts go.')
param alertEmail string

@description('Write the three secrets below into Key Vault: true on the first deployment only. A later deployment with true adds a new version of each: a rotation of all (see README, "Rotate the API-key pepper" and "Rotate the audit chain key").')
param seedSecrets bool = false

@description('Write only the validator outcome key (below) into Key Vault: true once, on the first deployment of a version that signs validation outcomes over a deployment seeded before it (README, "Deploy to Azure").')
param seedValidatorOutcomeKey bool = false

@description('Initial API-key pepper (with seedSecrets); rotate later in Key Vault (see README). The default is generated at deployment and never output.')
@secure()
param apiKeyPepper string = newGuid()

@description('Audit chain HMAC key, hex, at least 32 bytes (with seedSecrets); rotate later in Key Vault (see README, "Rotate the audit chain key"). The default is generated at deployment and never output.')
@secure()
param auditChainKey string = '${replace(newGuid(), '-', '')}${replace(newGuid(), '-', '')}'

@description('The rendition validator\'s outcome key, hex, at least 32 bytes (with seedSecrets or seedValidatorOutcomeKey): the Java app signs each outcome with it, the main app records only outcomes that check. The default is generated at deployment and never output.')
@secure()
param validatorOutcomeKey string = '${replace(newGuid(), '-', '')}${replace(newGuid(), '-', '')}'

@description('A deployment by a person with Owner (or User Access Administrator) on the resource group: true (the default). Only such a deployment writes what the CI identity cannot: the delete locks, the custom role definitions, the Cosmos DB data-plane roles and the CI identity\'s own roles. The workflow passes false (see README, "Deployment identity").')
param privileged bool = true

@description('ARCHIVE_KEYS_SEALED: true (a new deployment: every key and grant is sealed from its first), an API key or support grant without the archive\'s seal is refused whatever Cosmos DB says. A deployment with keys from before the seal passes false until the reconciler logs keysAllSealed: true (README, "Operating"), then true for good.')
param keysSealed bool = true

@description('ARCHIVE_SIGHTINGS_SEALED: true (a new deployment: every sign-in record is sealed from its first), a person\'s sign-in record without the archive\'s seal is no sign-in whatever Cosmos DB says. A deployment with sign-in records from before the seal passes false until the reconciler logs sightingsAllSealed: true (README, "Deploy to Azure"), then true for good.')
param sightingsSealed bool = true

@description('ARCHIVE_APPROVALS_SEALED_SINCE: when disposal approvals began to be sealed to their documents, an instant with its offset (a new deployment: its first deployment\'s time; an existing one: when the version sealing approvals was deployed). Set once (the workflow passes the repository variable APPROVALS_SEALED_SINCE; by hand, pass it with the other parameters), never moved on a later deployment: an unsealed approval given after it is refused by the sweep.')
@minLength(20)
param approvalsSealedSince string

@description('Object id of the CI deployment identity\'s service principal (the Entra app registration the workflow signs in as). A privileged deployment gives it the custom role Archive deployer and Role Based Access Control Administrator, the latter limited by a condition to the role assignments this template makes for the two Function Apps. Empty: no roles for a CI identity.')
param deployerPrincipalId string = ''

var suffix = uniqueString(resourceGroup().id)
var archiveAccountName = toLower('${namePrefix}arc${take(suffix, 8)}')
var runtimeAccountName = toLower('${namePrefix}fn${take(suffix, 8)}')
var validatorRuntimeAccountName = toLower('${namePrefix}vfn${take(suffix, 8)}')
var exportRuntimeAccountName = toLower('${namePrefix}xfn${take(suffix, 8)}')
var cosmosName = empty(cosmosAccountName) ? toLower('${namePrefix}-cosmos-${take(suffix, 6)}') : cosmosAccountName
var vaultName = toLower('${namePrefix}-kv-${take(suffix, 6)}')
var appName = toLower('${namePrefix}-api-${take(suffix, 6)}')

// ---------------------------------------------------------------- archive storage (documents, WORM)
resource archiveStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: archiveAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: archiveRedundancy
  }
  properties: {
    accessTier: 'Hot'
    // Version-level WORM for every container of the account: each blob version carries its own retain-until and legal hold.
    immutableStorageWithVersioning: {
      enabled: true
    }
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
      }
    }
  }
}

resource archiveBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: archiveStorage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    changeFeed: {
      enabled: true
    }
    deleteRetentionPolicy: {
      enabled: true
      days: 30
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 30
    }
    // A download larger than ARCHIVE_STREAMED_ANSWER_MAX_BYTES is answered 303 to a read-only SAS link (the Functions
    // Node library buffers large streamed answers, Azure/azure-functions-nodejs-library#294); the web app's fetch follows
    // it here and checks the bytes' SHA-256, so its origin (the Function App's, see output webAppUrl) may read: GET and
    // HEAD only, the headers it reads exposed. Authorization is not allowed: the SAS is the credential, and a browser that
    // kept the API's token on the redirect fails the preflight instead of handing it to Storage.
    // local/emulators.ts (WEB_DOWNLOAD_CORS) sets the same rule on Azurite.
    cors: {
      corsRules: [
        {
          allowedOrigins: concat([
            'https://${app.properties.defaultHostName}'
          ], webCustomOrigins)
          allowedMethods: [
            'GET'
            'HEAD'
          ]
          allowedHeaders: [
            'range'
            'if-range'
            'if-match'
            'if-none-match'
          ]
          exposedHeaders: [
            'content-length'
            'content-range'
            'content-disposition'
            'etag'
            'content-md5'
            'x-ms-*'
          ]
          maxAgeInSeconds: 3600
        }
      ]
    }
  }
}

// Runtime storage for the Functions host and its deployment package: kept apart from the archive.
resource runtimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: runtimeAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource runtimeBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: runtimeStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: runtimeBlobService
  name: 'app-package'
}

// ---------------------------------------------------------------- Cosmos DB (catalog, audit, tenants)
resource cosmos 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: cosmosName
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    // Entra ID only: no account keys can be used against the data plane.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: true
      }
    ]
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    // Point-in-time restore to any second of the last 30 days.
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous30Days'
      }
    }
    capabilities: []
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: cosmos
  name: 'archive'
  properties: {
    resource: {
      id: 'archive'
    }
  }
}

resource documentsContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: 'documents'
  properties: {
    resource: {
      id: 'documents'
      partitionKey: {
        paths: [
          '/tenantId'
        ]
        kind: 'Hash'
      }
      indexingPolicy: loadJsonContent('cosmos-documents-indexing-policy.json')
    }
    options: {
      autoscaleSettings: {
        maxThroughput: 4000
      }
    }
  }
}

resource auditContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: 'audit'
  properties: {
    resource: {
      id: 'audit'
      // <tenant>:<yyyy-mm>: keeps a busy tenant's log under the 20 GB logical-partition cap.
      partitionKey: {
        paths: [
          '/partition'
        ]
        kind: 'Hash'
      }
      // GET /audit lists a month newest first by time, equal instants in chain order: a composite index (at, id).
      indexingPolicy: loadJsonContent('cosmos-audit-indexing-policy.json')
    }
    options: {
      autoscaleSettings: {
        maxThroughput: 4000
      }
    }
  }
}

resource tenantsContainer 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = {
  parent: database
  name: 'tenants'
  properties: {
    resource: {
      id: 'tenants'
      partitionKey: {
        paths: [
          '/tenantId'
        ]
        kind: 'Hash'
      }
      // An export job's Bloom filter (up to ~270 KB of base64) is read, never queried: not indexed.
      indexingPolicy: loadJsonContent('cosmos-tenants-indexing-policy.json')
    }
    options: {
      autoscaleSettings: {
        maxThroughput: 1000
      }
    }
  }
}

// Cosmos DB data-plane roles are not Azure role assignments: whoever may write sqlRoleAssignments (any Contributor)
// can make itself Data Contributor on `audit` and rewrite the log. So they and the appender role are written by a
// privileged deployment only, and the CI identity's role (Archive deployer) withholds these writes.

// A data-plane role that can only add and read audit entries: no replace, no upsert, no delete. The appender writes a
// round of entries as a transactional batch of creates (authorised per operation; on a 403 it falls back to single creates).
resource auditAppenderRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, 'audit-appender')
  properties: {
    roleName: 'Archive audit appender'
    type: 'CustomRole'
    assignableScopes: [
      '${cosmos.id}/dbs/archive/colls/audit'
    ]
    permissions: [
      {
        dataActions: [
          'Microsoft.DocumentDB/databaseAccounts/readMetadata'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/create'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery'
        ]
      }
    ]
  }
}

// Built-in "Cosmos DB Built-in Data Contributor", only on the containers that hold mutable state.
var cosmosDataContributor = '00000000-0000-0000-0000-000000000002'

resource appDocumentsAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, app.id, 'documents')
  properties: {
    principalId: app.identity.principalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/archive/colls/documents'
  }
}

resource appTenantsAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, app.id, 'tenants')
  properties: {
    principalId: app.identity.principalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/archive/colls/tenants'
  }
}

resource appAuditAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, app.id, 'audit')
  properties: {
    principalId: app.identity.principalId
    roleDefinitionId: auditAppenderRole.id
    scope: '${cosmos.id}/dbs/archive/colls/audit'
  }
}

// ---------------------------------------------------------------- delete locks
// A Contributor (an operator, the CI identity) cannot delete the account that holds the documents, nor the one that
// holds the catalog and the audit log, or their containers through ARM; removing a lock needs Owner or User Access
// Administrator and shows in the activity log. Written by a privileged deployment only: the CI identity can neither
// write nor delete locks (Archive deployer withholds Microsoft.Authorization writes and deletes), so it leaves them be.
resource archiveStorageLock 'Microsoft.Authorization/locks@2020-05-01' = if (privileged) {
  name: 'archive-storage-no-delete'
  scope: archiveStorage
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the archived documents (WORM). See README, Deploy to Azure.'
  }
}

resource cosmosLock 'Microsoft.Authorization/locks@2020-05-01' = if (privileged) {
  name: 'cosmos-no-delete'
  scope: cosmos
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the catalog and the audit log. See README, Deploy to Azure.'
  }
}

// ---------------------------------------------------------------- Key Vault (API-key pepper)
resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: vaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

// The app refuses to start without both secrets (shared/adapters/azure/secrets.ts). Written only when seeding: every
// deployment (the workflow deploys on each push) would otherwise add a new version of each.
resource pepper 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets) {
  parent: vault
  name: 'api-key-pepper'
  properties: {
    value: apiKeyPepper
    contentType: 'text/plain'
  }
}

resource chainKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets) {
  parent: vault
  name: 'audit-chain-key'
  properties: {
    value: auditChainKey
    contentType: 'text/plain'
  }
}

// The rendition validator's own key: it signs each outcome it posts, and the main app records only what checks
// (shared/kernel/outcome-signature.ts). Whoever can write the archive's blobs and queues holds no secret here, so cannot
// announce a report of their own. Read by the validator (a Key Vault reference) and the main app, nobody else.
resource validatorOutcomeKeySeed 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (seedSecrets || seedValidatorOutcomeKey) {
  parent: vault
  name: 'validator-outcome-key'
  properties: {
    value: validatorOutcomeKey
    contentType: 'text/plain'
  }
}

// ---------------------------------------------------------------- monitoring
resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-logs-${take(suffix, 6)}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 90
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-ai-${take(suffix, 6)}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Telemetry only with Entra ID: the connection string alone cannot write.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- Function App (Flex Consumption, Linux, Node 20)
resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${namePrefix}-plan-${take(suffix, 6)}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    // Plain http is redirected to https before any function runs: the app's answers carry HSTS (shared/http/respond.ts).
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      // The deployment (Kudu/SCM) endpoint too: its own setting, not covered by minTlsVersion.
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: runtimeStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'STORAGE_ACCOUNT_URL', value: archiveStorage.properties.primaryEndpoints.blob }
        { name: 'STORAGE_ACCOUNT_RESOURCE_ID', value: archiveStorage.id }
        { name: 'COSMOS_ENDPOINT', value: cosmos.properties.documentEndpoint }
        { name: 'COSMOS_DATABASE', value: 'archive' }
        { name: 'KEY_VAULT_URL', value: vault.properties.vaultUri }
        { name: 'AUTH_ISSUER', value: authIssuer }
        { name: 'AUTH_AUDIENCE', value: authAudience }
        { name: 'AUTH_JWKS_URI', value: authJwksUri }
        { name: 'AUTH_TENANT_CLAIM', value: authTenantClaim }
        { name: 'ARCHIVE_WORM', value: 'enforce' }
        // Locked: no one, Microsoft and the app's own identity included, can shorten or remove a version's policy.
        { name: 'ARCHIVE_WORM_POLICY_MODE', value: 'Locked' }
        // GZRS keeps a copy in the paired region: the region guard refuses it unless it is allowed here too.
        { name: 'ARCHIVE_ALLOWED_REGIONS', value: archiveRedundancy == 'Standard_GZRS' ? '${location},westeurope' : location }
        // The seals on keys, grants and disposal approvals, enforced whatever Cosmos DB says (unset, /health/ready names them).
        { name: 'ARCHIVE_KEYS_SEALED', value: keysSealed ? 'true' : 'false' }
        { name: 'ARCHIVE_SIGHTINGS_SEALED', value: sightingsSealed ? 'true' : 'false' }
        { name: 'ARCHIVE_APPROVALS_SEALED_SINCE', value: approvalsSealedSince }
        // The web app (web/dist in the package, served by the `web` function) signs in with Entra ID.
        { name: 'ARCHIVE_WEB_AUTH', value: 'entra' }
        { name: 'ARCHIVE_WEB_AUTHORITY', value: webAuthority }
        { name: 'ARCHIVE_WEB_CLIENT_ID', value: webClientId }
        { name: 'ARCHIVE_WEB_SCOPE', value: webScope }
        { name: 'STORAGE_QUEUE_URL', value: archiveStorage.properties.primaryEndpoints.queue }
        { name: 'ArchiveStorage__queueServiceUri', value: archiveStorage.properties.primaryEndpoints.queue }
        { name: 'ArchiveStorage__credential', value: 'managedidentity' }
        // Everything but the export work, which runs in exportApp: this app's 10-minute functionTimeout (host.json) is
        // what the reconciler's in-flight bounds assume of every request and timer (HOLD_WRITE_IN_FLIGHT_MS).
        { name: 'ARCHIVE_FUNCTIONS_ROLE', value: 'api' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${runtimeStorage.properties.primaryEndpoints.blob}app-package'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 40
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// No publishing user name and password (a publish profile deploys code without Entra ID, conditional access or
// an audit trail naming the person): deployments sign in with Entra ID (func publish, Azure/functions-action with OIDC).
resource appBasicAuthFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource appBasicAuthScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

// ---------------------------------------------------------------- least-privilege role assignments (control and data plane)
var roles = {
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  // The region guard reads the archive account's location from ARM.
  reader: 'acdd72a7-3c48-4ee3-b2c7-5c8c7d2fb1d8'
}

// The custom storage roles' ids (role definition names are GUIDs): the CI identity may assign exactly these.
var archiveWriterRoleName = guid(archiveStorage.id, 'archive-writer')
var archiveExporterRoleName = guid(archiveStorage.id, 'archive-exporter')
var validatorBlobRoleName = guid(archiveStorage.id, 'rendition-validator-blobs')

// What the app's blob adapters do (shared/adapters/azure: blobs, disposer, export-store, links), nothing more:
// create and read containers, read/list/write blobs, put immutability policies and legal holds on them
// (immutableStorage/runAsSuperUser, the one right beyond Blob Data Contributor that this needs), delete blobs and
// their versions (disposal, expired exports), sign download links. Storage Blob Data Owner would add deleting
// containers, container-level immutability policies and legal holds (containers/*), undelete and the ACL rights.
// Locked policies still make every version undeletable until its retain-until, whatever the role.
resource archiveWriterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (privileged) {
  name: archiveWriterRoleName
  properties: {
    roleName: 'Archive writer (${archiveAccountName})'
    description: 'The archive app on its documents: containers created, never deleted; blobs written with immutability policies and legal holds, deleted once these allow.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/write'
          'Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action'
        ]
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action'
        ]
        notDataActions: []
      }
    ]
  }
}

resource archiveBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveStorage
  name: guid(archiveStorage.id, app.id, 'archive-writer')
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: archiveWriterRole.id
  }
}

resource archiveReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveStorage
  name: guid(archiveStorage.id, app.id, roles.reader)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
  }
}

resource runtimeBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, app.id, roles.storageBlobDataContributor)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource runtimeQueueAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, app.id, roles.storageQueueDataContributor)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

resource runtimeTableAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: runtimeStorage
  name: guid(runtimeStorage.id, app.id, roles.storageTableDataContributor)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Secrets User on the two secrets the app reads (every version), not on the vault: code running in the app reads
// nothing else kept there. The secrets must exist (seeded by the first deployment) before these can be assigned.
resource pepperSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: 'api-key-pepper'
}

resource chainKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: 'audit-chain-key'
}

resource validatorOutcomeKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: 'validator-outcome-key'
}

resource pepperAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: pepperSecret
  name: guid(vault.id, 'api-key-pepper', app.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    pepper
  ]
}

resource chainKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: chainKeySecret
  name: guid(vault.id, 'audit-chain-key', app.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    chainKey
  ]
}

// The main app checks each validation outcome's signature with it (and refuses to start without it).
resource validatorOutcomeKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validatorOutcomeKeySecret
  name: guid(vault.id, 'validator-outcome-key', app.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    validatorOutcomeKeySeed
  ]
}

resource insightsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, app.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// ---------------------------------------------------------------- alerts
resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-operators'
  location: 'global'
  properties: {
    groupShortName: 'archiveops'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

resource serverErrorsAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-5xx-rate'
  location: 'global'
  properties: {
    description: 'More than 5 server errors (5xx) in 5 minutes.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'failed-requests'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'requests/failed'
          operator: 'GreaterThan'
          threshold: 5
          timeAggregation: 'Count'
          criterionType: 'StaticThresholdCriterion'
        }
      ]
    }
    actions: [
      {
        actionGroupId: operators.id
      }
    ]
  }
}

resource storageCapacityAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-storage-capacity'
  location: 'global'
  properties: {
    description: 'Archive storage above 80% of the planned capacity (capacity planning, not a hard limit).'
    severity: 2
    enabled: true
    scopes: [
      archiveStorage.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT6H'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'used-capacity'
          metricNamespace: 'Microsoft.Storage/storageAccounts'
          metricName: 'UsedCapacity'
          operator: 'GreaterThan'
          threshold: 4000000000000
          timeAggregation: 'Average'
          criterionType: 'StaticThresholdCriterion'
        }
      ]
    }
    actions: [
      {
        actionGroupId: operators.id
      }
    ]
  }
}

// Any timer run that fails (functions/timers.ts runTimer): a fixity check, reconciler, audit seal or export
// maintenance failing on every run would otherwise stop without a word. A failed sweep is logged with its own
// phrase instead (sweepFailedAlert), so one failure raises one alert.
resource timerFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-timer-failed'
  location: location
  properties: {
    description: 'A timer run (retention sweep, fixity check, reconciler, audit seal, export maintenance, validation requeue) failed; the log line names the timer and the error.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "timer failed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// A completed change whose audit entry could be neither appended nor parked: the entry exists only in
// that log line (shared/http/pipeline.ts), until an operator appends it.
resource auditEntryUnwrittenAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-audit-entry-unwritten'
  location: location
  properties: {
    description: 'The audit entry of a completed change is in neither the chain nor the parked entries; the log line holds it in full.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "audit entry of a completed change could not be written or parked"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// The app logs one structured line per sweep and per fixity finding (see README, Operating).
resource sweepFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-sweep-failed'
  location: location
  properties: {
    description: 'A retention sweep run failed.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "retention sweep failed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource fixityAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-fixity-mismatch'
  location: location
  properties: {
    description: 'A stored blob no longer matches its SHA-256, or is missing.'
    severity: 0
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "fixity mismatch"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource orphanedBlobsAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-orphaned-blobs'
  location: location
  properties: {
    description: 'The reconciler found a document folder with blobs but no manifest and no catalog item (a crash mid-upload); an operator must look at it.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "orphaned blobs"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource fixityOverrunAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-fixity-cycle-overrun'
  location: location
  properties: {
    description: 'A fixity pass over the archive takes longer than ARCHIVE_FIXITY_CYCLE_DAYS: some blobs are not re-hashed within the promised cycle. Raise ARCHIVE_FIXITY_MAX_ITEMS or run the check more often.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P1D'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "fixity cycle overrun"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource unrecordedHoldAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-unrecorded-legal-hold'
  location: location
  properties: {
    description: 'The reconciler found blobs under a legal hold the catalog has no record of (a hold whose catalog write failed, a hold lost with a restored catalog); the flags are kept and the hold recorded as an open hold (case restored-from-storage, released by four eyes), or, if the document cannot take another hold, kept on the blobs only: find whose hold it was.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "legal hold on blobs without a record"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource correctionBlobDiffersAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-correction-blob-differs'
  location: location
  properties: {
    description: 'A metadata correction kept in storage differs from the catalog\'s correction of the same version (a catalog restored behind its blobs and corrected anew before the stored corrections came back); both stay, and an operator decides which the document holds.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "correction blob differs from the catalog"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource correctionUnauditedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-correction-unaudited'
  location: location
  properties: {
    description: 'A metadata correction in the catalog has no audit entry of the request that made it (a catalog item edited behind the archive): the reconciler does not keep it in storage, and the fixity check and exports refuse to vouch for the document. An operator restores the item from its manifest and kept corrections.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "correction in the catalog without its audit entry"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource revocationRestoredAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-revocation-restored'
  location: location
  properties: {
    description: 'An API key or support grant that had been revoked was in force in Cosmos DB again (a point-in-time restore to before its revocation) and was revoked again from its revocation blob in storage. An operator checks what else the restore brought back (README Backups and restore): rights sets, assignments, the SoD policy and the retention policy changed after the restore point are as they were then until the reconciler has run.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "revocation restored from storage"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource settingUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-setting-unsealed'
  location: location
  properties: {
    description: 'A rights set, assignment or policy kept in a tenant\'s container (settings/) does not carry the archive\'s seal (an HMAC under the audit chain key): someone who can write blobs planted or edited it. The reconciler does not write it back; an operator finds out who wrote it (storage logs) and removes it once its lock ends.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "setting in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource settingDiffersAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-setting-differs'
  location: location
  properties: {
    description: 'A four-eyes check (a hold\'s release, a disposal approval, a proposal\'s approval) found a rights assignment or set in Cosmos DB other than the newest sealed one kept in storage (settings/): a restore, or someone who can write Cosmos DB edited who gave whom rights. The check judged by what storage keeps too; the reconciler writes the kept record back. An operator finds out who wrote Cosmos DB.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "setting differs from the one kept in storage"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource correctionUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-correction-unsealed'
  location: location
  properties: {
    description: 'A metadata correction kept in a document\'s folder (correction-NNN.json) does not carry the archive\'s seal (an HMAC under the audit chain key), nor, from before the seal, its request\'s audit entry: someone who can write blobs planted or edited it. The reconciler, a catalog rebuild and a correction request do not apply it (a correction of that version is then kept in the catalog only); an operator finds out who wrote it (storage logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "correction in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource auditSealUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-audit-seal-unsealed'
  location: location
  properties: {
    description: 'A blob in a tenant\'s audit seal folder (audit-seals/<month>/<seq>.json) does not carry the archive\'s seal (an HMAC under the audit chain key), or sits above one that does, or a passed marker (audit-seals/passed/<month>/<seq>.json) is not the archive\'s for that month and number: someone who can write blobs planted, copied or edited it. The sealing timer passes over it and goes on sealing the month; GET /audit/verify names it as an unreadable seal. An operator finds out who wrote it (storage logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "audit seal in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource auditOutboxUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-audit-outbox-unsealed'
  location: location
  properties: {
    description: 'An audit outbox item in Cosmos DB (a change\'s audit entries, written with it) does not carry the archive\'s seal (an HMAC under the audit chain key): someone who can write Cosmos DB planted or edited it, to have the sealing timer key a forged entry (or, just after the upgrade that sealed items, one stored before it). Its entries are appended all the same, marked `outbox-unsealed` in their detail, and no check takes them as a witness. An operator finds out who wrote it (Cosmos DB diagnostic logs) and reads the marked entries (GET /audit).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "audit outbox item not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource auditPendingUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-audit-pending-unsealed'
  location: location
  properties: {
    description: 'A parked batch of audit entries in Cosmos DB (a completed change\'s entries the log refused, `audit-pending` in the tenants container) does not carry the archive\'s seal (an HMAC under the audit chain key): someone who can write Cosmos DB planted or edited it, to have the sealing timer key a forged entry (or, just after the upgrade that sealed batches, one parked before it). Its entries are appended all the same, marked `outbox-unsealed` in their detail, and no check takes them as a witness. An operator finds out who wrote it (Cosmos DB diagnostic logs) and reads the marked entries (GET /audit).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "parked audit entries not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource manifestUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-manifest-unsealed'
  location: location
  properties: {
    description: 'A document\'s manifest.json does not carry the archive\'s seal (an HMAC under the audit chain key), nor, from before the seal, its ingest\'s success entry in the audit log: someone who can write blobs planted a document folder (a fake invoice), or the manifest of the folder an Idempotency-Key predicts. The reconciler does not index it (the folder is listed as orphaned blobs), an upload under that key is refused rather than adopting it, and the fixity check reports a catalogued document whose manifest it is; an operator finds out who wrote it (storage logs) and follows README Crash between blobs and catalog (reconciler).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "manifest in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource revocationUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-revocation-unsealed'
  location: location
  properties: {
    description: 'A blob under revocations/ in a tenant\'s container (an API key\'s or support grant\'s revocation) does not carry the archive\'s seal (an HMAC under the audit chain key), nor, from before the seal, the revocation\'s success entry in the audit log: someone who can write blobs planted it to revoke a key or grant (its client apps would stop), or copied another\'s. It is ignored (the credential acts on) and logged once per blob per instance; an operator finds out who wrote it (storage logs) and revokes what should be revoked through the API (README Backups and restore).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "revocation in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource apiKeyUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-api-key-unsealed'
  location: location
  properties: {
    description: 'An API key record in Cosmos DB does not carry the archive\'s seal (an HMAC under the audit chain key over its tenant, id, hash, rights set, ceiling, person and expiry), or its seal does not check: someone who can write Cosmos DB made or widened a key with the hash of a key whose secret they hold. It is refused as an unknown key (401) and logged once per key per instance; the reconciler logs one from before the seal without its audit entry the same way. An operator finds out who wrote it (Cosmos DB diagnostic logs), deletes the record and revokes the key whose hash it copies (README Operating, keys from before the seal).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "api key in the catalog not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource supportGrantUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-support-grant-unsealed'
  location: location
  properties: {
    description: 'A support grant record in Cosmos DB does not carry the archive\'s seal (an HMAC under the audit chain key over its tenant, id, scope, expiry and giver), or its seal does not check: someone who can write Cosmos DB gave provider staff access, or widened a grant. It gives no access and is logged once per grant per instance; the reconciler logs one from before the seal without its audit entry the same way. An operator finds out who wrote it (Cosmos DB diagnostic logs) and deletes the record (README Operating).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "support grant in the catalog not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource proposalUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-proposal-unsealed'
  location: location
  properties: {
    description: 'A pending SoD or retention policy proposal in Cosmos DB was asked to be approved without the archive\'s seal (an HMAC under the audit chain key over its tenant, id, proposer, dates and proposed change), or its seal does not check: someone who can write Cosmos DB planted a proposal in another manager\'s name, or rewrote what a genuine one proposes, to approve it alone. The approval is refused (409 proposal_not_sealed) and nothing applied. An operator finds out who wrote it (Cosmos DB diagnostic logs) and who asked to approve it (the audit log), and withdraws the proposal.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "policy proposal in the catalog not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportJobUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-job-unsealed'
  location: location
  properties: {
    description: 'An export job in Cosmos DB lacks the archive\'s seal (an HMAC under the audit chain key over its tenant, id, requester, request, search, expiry and, once completed, its ZIP, manifest.json and the documents a disposal can reach), or its seal does not check: someone who can write Cosmos DB moved its expiry, edited the documents a disposal withdraws it for, named another requester, changed its search, or pointed it at another export\'s ZIP. It is not run, not handed out (409 export_not_sealed), withdrawn by the sweep and expired by export maintenance (its ZIP deleted: exports are copies). Right after deploying the version that seals export jobs, or rotating the chain key, jobs made before fire it once each. An operator finds out who wrote it (Cosmos DB diagnostic logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export job in the catalog not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportListEditedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-list-edited'
  location: location
  properties: {
    description: 'A large export\'s list of the documents a disposal can reach (<export id>.disposable.txt in the tenant\'s exports container) does not match the digest its sealed job names: someone with the storage account\'s data-plane role rewrote it, perhaps to keep an export holding a disposed document downloadable. The sweep withdraws the export on its Bloom filter alone (exports are copies: nothing of the tenant\'s is lost). An operator finds out who wrote it (storage diagnostic logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export disposable list in storage not as the export wrote it"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource personSightingUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-person-sighting-unsealed'
  location: location
  properties: {
    description: 'A person\'s sign-in record in Cosmos DB (the rights set their identity provider\'s claim last named, when they last signed in, the sets earlier sign-ins claimed) does not carry a seal that checks (an HMAC under the audit chain key): someone who can write Cosmos DB widened the set the person\'s API keys act with, moved a leaver\'s last sign-in forward, or dropped what four eyes follow. It is taken as no sign-in: the person\'s keys rest until they sign in again (which writes it sealed), and four eyes through them are not judged a second person. Logged once per record per instance; an operator finds out who wrote it (Cosmos DB diagnostic logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "person sighting in the catalog not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource personSightingRestoredAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-person-sighting-restored'
  location: location
  properties: {
    description: 'A person\'s sign-in record in Cosmos DB (sealed) was older than the newest one the archive kept in storage when the identity provider\'s claim changed (sightings/ in the tenant\'s container): someone who can write Cosmos DB wrote back a genuine earlier sighting (to give the person\'s API keys a wider set again), or Cosmos DB was restored. The kept one decided the key\'s rights and was written back. Logged once per restore; an operator finds out who wrote it (Cosmos DB diagnostic logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "person sighting restored from storage"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource personSightingKeptUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-person-sighting-kept-unsealed'
  location: location
  properties: {
    description: 'A blob under sightings/ in a tenant\'s container does not carry the archive\'s seal (an HMAC under the audit chain key), or names another person or time than its name: someone who can write blobs planted it to move a person\'s rights. It is ignored and logged once per blob per instance; an operator finds out who wrote it (storage logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "person sighting in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource keptSightingWalkBehindAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-kept-sighting-walk-behind'
  location: location
  properties: {
    description: 'The reconciler\'s walk extending the locks of kept sign-in copies (sightings/ in the tenants\' containers) began its lap more than 30 days ago (a state missing from timer state counts as begun long ago until a lap ends: expected on the first runs after the upgrade where there are many tenant containers), or found its state there not sealed by the archive: a copy\'s lock may end before it is extended, and the copy could then be deleted and an older sign-in replayed. Look for blobs or containers planted by a storage role (storage logs), or a state reset or replayed in Cosmos DB (README Operating).'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "kept sign-in copies walk behind: a lock may end before it is extended"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource decisionUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-decision-unsealed'
  location: location
  properties: {
    description: 'A blob under decisions/ in a tenant\'s container (a four-eyes proposal\'s decision) does not carry the archive\'s seal (an HMAC under the audit chain key), nor, from before the seal, the decision\'s success entry in the audit log: someone who can write blobs planted it to close a pending proposal before its approver acts, or copied another\'s. It is ignored (the proposal stays pending) and logged once per blob per instance; an operator finds out who wrote it (storage logs) (README Backups and restore).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "decision in storage not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource settingRestoredAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-setting-restored'
  location: location
  properties: {
    description: 'A tenant setting was in Cosmos DB as it had been before a change (a point-in-time restore to before it) and was set again from its blob in storage: a proposal decided since came back pending and its decision was written back, or a rights set, an assignment, the SoD policy or the retention policy narrowed, removed or tightened since came back wider and the reconciler caught it up (until then the wider right could act). An operator checks what else the restore brought back (README Backups and restore).'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "setting restored from storage"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource auditChainBehindSealAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-audit-chain-behind-seal'
  location: location
  properties: {
    description: 'A tenant-month of the audit log ends before its last seal, or holds another entry at the sealed number: entries the seal had fixed are gone (the audit container restored to an earlier point, or cut). GET /audit/verify names the month; an operator finds out why (README Backups and restore) before the tenant\'s auditors do.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "audit chain behind its seal"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportIncompleteAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-incomplete'
  location: location
  properties: {
    description: 'An export\'s walk of its search left out archived documents the search matches (a catalog paging fault); the export was failed rather than completed short.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export incomplete"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportStalledAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-stalled'
  location: location
  properties: {
    description: 'An export was failed because its worker stopped before finishing ARCHIVE_EXPORT_MAX_ATTEMPTS times (the Functions timeout, or instances recycled): the accountant is told to narrow it. Many in a day mean exports of this size need a longer timeout (a Premium or Flex plan) or a lower ARCHIVE_EXPORT_MAX_DOCUMENTS.'
    severity: 3
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export stalled"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportBlobTakenAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-blob-taken'
  location: location
  properties: {
    description: 'An export failed because its ZIP blob was written by another while the export was still its attempt\'s: a blob put under its name before its first commit, or blocks committed over it, by someone with write access to the storage account (no Key Vault needed); or a checkpoint beside it larger than any attempt writes (not read, deleted by the next attempt, which starts from the first document). Find who wrote the exports container; a ZIP blob is left as it was found.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export blob written by another than its attempt"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource exportBlobOutlivedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-blob-outlived'
  location: location
  properties: {
    description: 'Export maintenance deleted an export blob (a ZIP or its disposable list) older than any export may live whose job was missing or not ended in Cosmos DB (a job deleted or edited outside the archive: find who wrote Cosmos DB), or an ended export\'s blob could not be deleted (a lease on it, say: find who holds it).'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export blob outlived its export"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource disposalApprovalUnauditedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-disposal-approval-unaudited'
  location: location
  properties: {
    description: 'The retention sweep found documents approved for disposal by an approval the keyed audit log does not hold (written into Cosmos DB outside the archive, or its entry lost in a restore): they are kept. Find who wrote the approval; approve again through the archive if the disposal is wanted.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "disposal approval without its audit entry"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource holdPlacementUnwitnessedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-hold-placement-unwitnessed'
  location: location
  properties: {
    description: 'A legal hold\'s release found no keyed audit entry of the hold\'s placement (whom four eyes compare the releaser with): its placer or time in Cosmos DB may have been edited, or the hold planted. Placed after the audit chain was keyed, it was refused (409 hold_placement_unwitnessed) and nothing changed; stored as placed before, it was released as stored. Find who wrote the hold (Cosmos DB diagnostic logs); for a release as stored, check that its placer was another person.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "legal hold release without a placement audit entry"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource disposalApprovalRecordUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-disposal-approval-record-unsealed'
  location: location
  properties: {
    description: 'A keyed disposal approval\'s record in Cosmos DB (what a retry with the same Idempotency-Key is answered from) does not carry a seal that checks: someone who can write Cosmos DB edited it, to have a retry claim documents approved that are not. The retry was not answered from it: it finished the approval itself and answered what the documents carry, and replaced the record. Find who wrote it (Cosmos DB diagnostic logs).'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "disposal approval record not sealed by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource disposalRefusedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-disposal-refused'
  location: location
  properties: {
    description: 'Storage has refused the retention sweep\'s disposal of a due document for more than two days: its blobs are locked longer than the catalog says (a catalog restored from a backup that lost a retention extension, or a lock set outside the archive). The document is kept; an operator finds which is right (the audit log names every extension) and corrects the catalog, or lets the lock run out.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P1D'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "disposal refused by storage past its grace"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource disposalClaimUnsealedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-disposal-claim-unsealed'
  location: location
  properties: {
    description: 'The retention sweep found a document set `disposing` that the archive did not seal when it claimed it (written in Cosmos DB by hand, a restore, an edited claim, or a claim from before claims were sealed), with every blob still stored: nothing was deleted, the document was put back to active and is judged again by the next run. An operator finds who wrote the claim.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'P1D'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "disposal claim not made by the archive"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource documentCheckFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-document-check-failed'
  location: location
  properties: {
    description: 'The reconciler, the fixity check, the retention sweep or the catalog rebuild could not check a catalog item or document folder (a malformed item or manifest, a write the catalog refuses) and skipped it, or an open hold by query cannot reach a document that carries as many holds as one keeps; an operator must look at it.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "could not check a document"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// ---------------------------------------------------------------- access that bypasses the app
// The audit chain records what goes through the app. Whoever uses the stores directly (an operator who granted
// themselves a data role, a leaked identity) is recorded only here: every blob read, write and delete, every Key
// Vault operation, every Cosmos request, in the workspace (90 days); the two alerts below name such changes.
resource archiveBlobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'archive-blob-access'
  scope: archiveBlobService
  properties: {
    workspaceId: workspace.id
    logs: [
      { category: 'StorageRead', enabled: true }
      { category: 'StorageWrite', enabled: true }
      { category: 'StorageDelete', enabled: true }
    ]
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'vault-audit'
  scope: vault
  properties: {
    workspaceId: workspace.id
    logs: [
      { categoryGroup: 'audit', enabled: true }
    ]
  }
}

resource cosmosDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'cosmos-requests'
  scope: cosmos
  properties: {
    workspaceId: workspace.id
    logs: [
      { category: 'ControlPlaneRequests', enabled: true }
      { category: 'DataPlaneRequests', enabled: true }
    ]
  }
}

resource archiveChangedOutsideAppAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-archive-changed-outside-app'
  location: location
  properties: {
    description: 'An identity other than the archive app, its export app and the rendition validator wrote, deleted, undeleted or changed the immutability or legal hold of archive blobs: a change the audit chain does not record. The log row names the requester.'
    severity: 1
    enabled: true
    scopes: [
      workspace.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'StorageBlobLogs | where AccountName == "${archiveAccountName}" | where OperationName in ("PutBlob", "PutBlock", "PutBlockList", "CopyBlob", "CopyBlobFromURL", "PutBlobFromURL", "SetBlobMetadata", "SetBlobProperties", "SetBlobTier", "DeleteBlob", "UndeleteBlob", "DeleteContainer", "SetBlobImmutabilityPolicy", "DeleteBlobImmutabilityPolicy", "SetBlobLegalHold") | where RequesterObjectId !in ("${app.identity.principalId}", "${validatorApp.identity.principalId}", "${exportApp.identity.principalId}")'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource secretsOutsideAppAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-secrets-outside-app'
  location: location
  properties: {
    description: 'An identity other than the archive app, its export app and the rendition validator read, listed or changed a Key Vault secret (the API-key pepper, the audit chain key, with which the audit chain could be rewritten, or the validator outcome key, with which a validation outcome could be forged). Expected once per seeding or pepper rotation; otherwise find out who.'
    severity: 1
    enabled: true
    scopes: [
      workspace.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'AzureDiagnostics | where ResourceProvider == "MICROSOFT.KEYVAULT" and Resource =~ "${vaultName}" | where OperationName startswith "Secret" | where identity_claim_oid_g !in ("${app.identity.principalId}", "${exportApp.identity.principalId}", "${validatorApp.identity.principalId}")'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// ---------------------------------------------------------------- rendition validation (issue #14): queues, Java app, least rights, alerts
// The Node app queues {"requests":[{tenantId, documentId, renditionSha256}, …]} on rendition-validation, the uploads of
// ~200 ms per message. The Java app (validator/, veraPDF library) validates each rendition, stores <documentId>/validation.json create-only and posts the
// outcome on rendition-validation-outcome; the Node app checks the report's SHA-256, puts the document's retain-until
// and legal hold on it and records the outcome (catalog + audit chain). Failing messages go to the -poison queues after
// five deliveries (host.json maxDequeueCount); a request or outcome of a document disposed of meanwhile is dropped
// (logged at info, completed), never retried, so the poison alert below means a real failure.
resource archiveQueueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: archiveStorage
  name: 'default'
}

resource validationQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'rendition-validation'
}

resource validationPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'rendition-validation-poison'
}

resource validationOutcomeQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'rendition-validation-outcome'
}

resource validationOutcomePoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'rendition-validation-outcome-poison'
}

// ---------------------------------------------------------------- export work: one queue invocation per export
// POST /exports and export maintenance queue {tenantId, exportId}; the Node app's runExportWork trigger runs each export
// in its own invocation (host retries, then export-work-poison after five deliveries). A message names the job only: the
// worker reads and judges it (sealed, running, due), so a replayed message starts nothing that was not due anyway.
resource exportWorkQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'export-work'
}

resource exportWorkPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: archiveQueueService
  name: 'export-work-poison'
}

// The validator's own host storage. It parses untrusted PDFs; on the Node app's runtime account its blob role would
// let it rewrite that app's deployment package or read its host keys in azure-webjobs-secrets, and so act as the
// Node app (archive writer on the archive, Cosmos).
resource validatorRuntimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: validatorRuntimeAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource validatorRuntimeBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: validatorRuntimeStorage
  name: 'default'
}

resource validatorPackageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: validatorRuntimeBlobService
  name: 'validator-package'
}

resource validatorPlan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${namePrefix}-vplan-${take(suffix, 6)}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource validatorApp 'Microsoft.Web/sites@2023-12-01' = {
  name: toLower('${namePrefix}-validator-${take(suffix, 6)}')
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: validatorPlan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: validatorRuntimeStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'ArchiveStorage__blobServiceUri', value: archiveStorage.properties.primaryEndpoints.blob }
        { name: 'ArchiveStorage__queueServiceUri', value: archiveStorage.properties.primaryEndpoints.queue }
        { name: 'ArchiveStorage__credential', value: 'managedidentity' }
        { name: 'ARCHIVE_VALIDATION_QUEUE', value: validationQueue.name }
        // The key it signs outcomes with, resolved by the platform with the app's identity (Secrets User on this one
        // secret, validatorOutcomeKeyRead): no Key Vault SDK in the app that parses untrusted PDFs. No version: the
        // current one, picked up within a day of a rotation or at a restart.
        { name: 'ARCHIVE_VALIDATOR_OUTCOME_KEY', value: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/validator-outcome-key/)' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${validatorRuntimeStorage.properties.primaryEndpoints.blob}validator-package'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 10
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'java'
        version: '17'
      }
    }
  }
}

resource validatorBasicAuthFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: validatorApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource validatorBasicAuthScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: validatorApp
  name: 'scm'
  properties: {
    allow: false
  }
}

var queueRoles = {
  reader: '19e7f393-937e-4f77-808e-94535e297925'
  messageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed'
  messageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
}

// Read and write blobs, never delete (no delete data action). The assignment's ABAC condition narrows reads to
// renditions and reports and writes to blobs named validation.json, in tenant document containers; the app writes with If-None-Match: * (create-only), and the account's version-level
// immutability keeps the first version even if a later write made a new one. Setting retain-until and legal hold is
// left to the Node app (archive writer role), which checks the report's SHA-256 before it locks it.
resource validatorBlobRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (privileged) {
  name: validatorBlobRoleName
  properties: {
    roleName: 'Archive rendition validator (${archiveAccountName})'
    description: 'Reads archive blobs and creates validation reports, nothing else (no removal, no immutability or legal-hold changes).'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
        ]
        notDataActions: []
      }
    ]
  }
}

resource validatorBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveStorage
  name: guid(archiveStorage.id, validatorApp.id, 'rendition-validator-blobs')
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: validatorBlobRole.id
    conditionVersion: '2.0'
    // Reads: a document's rendition.pdf and validation.json (a re-delivery reads the stored report) in tenant-*
    // containers only, never originals, manifests, exports-* or audit seals. Writes: validation.json there only.
    condition: '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringStartsWith \'tenant-\' AND (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'*/rendition.pdf\' OR @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'*/validation.json\'))) AND ((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringStartsWith \'tenant-\' AND @Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path] StringLike \'*/validation.json\'))'
  }
}

resource validatorQueueRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationQueue
  name: guid(validationQueue.id, validatorApp.id, queueRoles.messageProcessor)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageProcessor)
  }
}

// A queue trigger needs Reader beside Message Processor (queue length and metadata: polling and scaling; see the
// Functions docs, "Grant permission to the identity"); without it the trigger never wakes.
resource validatorQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationQueue
  name: guid(validationQueue.id, validatorApp.id, queueRoles.reader)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.reader)
  }
}

resource validatorPoisonSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationPoisonQueue
  name: guid(validationPoisonQueue.id, validatorApp.id, queueRoles.messageSender)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

resource validatorOutcomeSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationOutcomeQueue
  name: guid(validationOutcomeQueue.id, validatorApp.id, queueRoles.messageSender)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

// The Java host's own runtime storage (deployment package, leases): its own account, never the archive or the Node app's.
// Secrets User on its own key alone (ARCHIVE_VALIDATOR_OUTCOME_KEY), not on the vault: the pepper and the audit chain
// key stay out of reach of code that parses untrusted PDFs.
resource validatorOutcomeKeyRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validatorOutcomeKeySecret
  name: guid(vault.id, 'validator-outcome-key', validatorApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    validatorOutcomeKeySeed
  ]
}

resource validatorRuntimeBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validatorRuntimeStorage
  name: guid(validatorRuntimeStorage.id, validatorApp.id, roles.storageBlobDataContributor)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource validatorInsightsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, validatorApp.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: validatorApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// The Node app sends validation requests and consumes outcomes (one queue each).
resource appValidationSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationQueue
  name: guid(validationQueue.id, app.id, queueRoles.messageSender)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

resource appOutcomeRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationOutcomeQueue
  name: guid(validationOutcomeQueue.id, app.id, queueRoles.messageProcessor)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageProcessor)
  }
}

resource appOutcomeReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationOutcomeQueue
  name: guid(validationOutcomeQueue.id, app.id, queueRoles.reader)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.reader)
  }
}

resource appOutcomePoisonSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: validationOutcomePoisonQueue
  name: guid(validationOutcomePoisonQueue.id, app.id, queueRoles.messageSender)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

// The Node app queues export work (Sender); the export app's trigger consumes it (Reader and Message Processor) and moves
// a message that failed five times to export-work-poison (Sender there). The main app no longer consumes it.
resource appExportWorkSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportWorkQueue
  name: guid(exportWorkQueue.id, app.id, queueRoles.messageSender)
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

// ---------------------------------------------------------------- the export app: runExportWork alone, under a longer timeout
// One export attempt is one invocation of runExportWork. In the main app it was cut at that app's 10-minute
// functionTimeout, which cannot be raised there (the reconciler's in-flight bounds assume it of every request and timer
// that writes), so a large year's export failed as export_stalled. Here the same package runs with
// ARCHIVE_FUNCTIONS_ROLE=export-worker: no route, no web app, no timer, only the trigger. Its own host storage: the
// main app's holds that app's package and host keys, which this identity, with fewer rights, must not rewrite or read.
resource exportRuntimeStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: exportRuntimeAccountName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource exportRuntimeBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: exportRuntimeStorage
  name: 'default'
}

resource exportPackageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: exportRuntimeBlobService
  name: 'app-package'
}

resource exportPlan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${namePrefix}-xplan-${take(suffix, 6)}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource exportApp 'Microsoft.Web/sites@2023-12-01' = {
  name: toLower('${namePrefix}-export-${take(suffix, 6)}')
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: exportPlan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // The main app's settings (the config loader reads them all at start-up, the safety checks included), but the web
      // app's: this app serves no request.
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: exportRuntimeStorage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'Authorization=AAD' }
        { name: 'STORAGE_ACCOUNT_URL', value: archiveStorage.properties.primaryEndpoints.blob }
        { name: 'STORAGE_ACCOUNT_RESOURCE_ID', value: archiveStorage.id }
        { name: 'COSMOS_ENDPOINT', value: cosmos.properties.documentEndpoint }
        { name: 'COSMOS_DATABASE', value: 'archive' }
        { name: 'KEY_VAULT_URL', value: vault.properties.vaultUri }
        { name: 'AUTH_ISSUER', value: authIssuer }
        { name: 'AUTH_AUDIENCE', value: authAudience }
        { name: 'AUTH_JWKS_URI', value: authJwksUri }
        { name: 'AUTH_TENANT_CLAIM', value: authTenantClaim }
        { name: 'ARCHIVE_WORM', value: 'enforce' }
        { name: 'ARCHIVE_WORM_POLICY_MODE', value: 'Locked' }
        { name: 'ARCHIVE_ALLOWED_REGIONS', value: archiveRedundancy == 'Standard_GZRS' ? '${location},westeurope' : location }
        { name: 'ARCHIVE_KEYS_SEALED', value: keysSealed ? 'true' : 'false' }
        { name: 'ARCHIVE_SIGHTINGS_SEALED', value: sightingsSealed ? 'true' : 'false' }
        { name: 'ARCHIVE_APPROVALS_SEALED_SINCE', value: approvalsSealedSince }
        { name: 'STORAGE_QUEUE_URL', value: archiveStorage.properties.primaryEndpoints.queue }
        { name: 'ArchiveStorage__queueServiceUri', value: archiveStorage.properties.primaryEndpoints.queue }
        { name: 'ArchiveStorage__credential', value: 'managedidentity' }
        { name: 'ARCHIVE_FUNCTIONS_ROLE', value: 'export-worker' }
        // host.json's functionTimeout (10 minutes, the main app's) overridden for this app alone (an app setting
        // AzureFunctionsJobHost__<path> overrides host.json; Flex Consumption allows any timeout). Two hours: well past a
        // year's export of ARCHIVE_EXPORT_MAX_DOCUMENTS, and still a bound. A dead or hung attempt stops heartbeating
        // and is restarted by export maintenance after ARCHIVE_EXPORT_STALE_SECONDS whatever this is; the timeout only
        // frees the instance's slot (host.json: at most four exports an instance) that a hung invocation would hold.
        // The platform may still stop an attempt (up to 60 minutes' grace at scale-in, 10 at an upgrade):
        // ARCHIVE_EXPORT_MAX_ATTEMPTS covers that.
        { name: 'AzureFunctionsJobHost__functionTimeout', value: '02:00:00' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${exportRuntimeStorage.properties.primaryEndpoints.blob}app-package'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        // At most four exports an instance (host.json queues), ARCHIVE_EXPORT_MAX_RUNNING a tenant.
        maximumInstanceCount: 20
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

resource exportBasicAuthFtp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: exportApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource exportBasicAuthScm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: exportApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// What the export path touches (run-export.ts, queued-export.ts, and buildDeps at start-up), nothing more. Cosmos DB as
// the main app: export jobs and their audit outbox items (tenants), catalog reads and outbox removals, which try
// `documents` first (documents), audit appends (audit).
resource exportDocumentsAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, exportApp.id, 'documents')
  properties: {
    principalId: exportApp.identity.principalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/archive/colls/documents'
  }
}

resource exportTenantsAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, exportApp.id, 'tenants')
  properties: {
    principalId: exportApp.identity.principalId
    roleDefinitionId: '${cosmos.id}/sqlRoleDefinitions/${cosmosDataContributor}'
    scope: '${cosmos.id}/dbs/archive/colls/tenants'
  }
}

resource exportAuditAccess 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-05-15' = if (privileged) {
  parent: cosmos
  name: guid(cosmos.id, exportApp.id, 'audit')
  properties: {
    principalId: exportApp.identity.principalId
    roleDefinitionId: auditAppenderRole.id
    scope: '${cosmos.id}/dbs/archive/colls/audit'
  }
}

// What the export worker does on the archive account (run-export.ts through export-store.ts and blobs.ts), nothing more:
// read every document's blobs (Get Blob; List Blobs is blobs/read too), and in exports-<tenant> write the ZIP, its checkpoint
// and its list of disposable ids (Put Block, Put Block List), delete them and their versions (a failed or withdrawn attempt). It signs
// no link (POST /exports and downloads run in the main app), puts no immutability policy or legal hold and reads no
// container's properties: no delegation key, no runAsSuperUser, no containers/read. Broke: it held Archive writer, whose
// assignment condition binds data actions only, so the role's actions (a user delegation key, container writes) applied
// to every container.
// A condition binds only blob data actions (containers/blobs/*, ActionMatches on a DataAction), not containers/write, a
// control-plane action: so the role has no action. exports-<tenant> is created by the main app at POST /exports
// (start-export.ts, export-store.ts ensureContainer). Broke: the worker created it, and with containers/write the export
// app could create (and set metadata on) a container of any name.
resource archiveExporterRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (privileged) {
  name: archiveExporterRoleName
  properties: {
    roleName: 'Archive exporter (${archiveAccountName})'
    description: 'The export app on the archive: reads every blob; writes and deletes blobs in exports-* containers only (assignment condition); creates no container; signs nothing.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action'
        ]
        notDataActions: []
      }
    ]
  }
}

// Reads everywhere (the documents it exports); every other data action only in exports-* containers.
resource exportBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveStorage
  name: guid(archiveStorage.id, exportApp.id, 'archive-exporter')
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: archiveExporterRole.id
    conditionVersion: '2.0'
    condition: '((!(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete\'}) AND !(ActionMatches{\'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/deleteBlobVersion/action\'})) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringStartsWith \'exports-\'))'
  }
}

// The region guard reads the archive account's location at start-up, as in the main app.
resource exportArchiveReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: archiveStorage
  name: guid(archiveStorage.id, exportApp.id, roles.reader)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
  }
}

// Start-up checks both secrets (adapters/azure/secrets.ts); the audit chain key keys the entries and the export's seal.
resource exportPepperAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: pepperSecret
  name: guid(vault.id, 'api-key-pepper', exportApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    pepper
  ]
}

resource exportChainKeyAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: chainKeySecret
  name: guid(vault.id, 'audit-chain-key', exportApp.id, roles.keyVaultSecretsUser)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
  dependsOn: [
    chainKey
  ]
}

resource exportWorkProcess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportWorkQueue
  name: guid(exportWorkQueue.id, exportApp.id, queueRoles.messageProcessor)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageProcessor)
  }
}

resource exportWorkReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportWorkQueue
  name: guid(exportWorkQueue.id, exportApp.id, queueRoles.reader)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.reader)
  }
}

resource exportWorkPoisonSend 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportWorkPoisonQueue
  name: guid(exportWorkPoisonQueue.id, exportApp.id, queueRoles.messageSender)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueRoles.messageSender)
  }
}

// Its own host storage (deployment package, leases, host keys).
resource exportRuntimeBlobAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exportRuntimeStorage
  name: guid(exportRuntimeStorage.id, exportApp.id, roles.storageBlobDataContributor)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
  }
}

resource exportInsightsAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, exportApp.id, roles.monitoringMetricsPublisher)
  properties: {
    principalId: exportApp.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

resource exportWorkPoisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-export-work-poison'
  location: location
  properties: {
    description: 'An export\'s work failed five times and was moved to export-work-poison, or a message naming no export was dropped: export maintenance queues a stale export again until it stalls or expires; look at the failures.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "export-work-poison" or message has "export work message refused"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource validationOutcomeForgedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-validation-outcome-forged'
  location: location
  properties: {
    description: 'A validation outcome on rendition-validation-outcome was not signed by the rendition validator (no signature, another key, or another document\'s): someone who can send to the archive\'s queues announced a validation report of their own. Not recorded; the message ends in the outcome poison queue. Find out who sent it (storage queue logs) and delete the document\'s validation.json if it is not veraPDF\'s; the requeue timer asks for validation again.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "validation outcome refused: not signed by the validator"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource validationFailedAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-rendition-validation-failed'
  location: location
  properties: {
    description: 'veraPDF rejected a rendition that claims PDF/A-2b: the document shows validation failed with the rule ids.'
    severity: 1
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "rendition validation failed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

resource validationPoisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-rendition-validation-poison'
  location: location
  properties: {
    description: 'A validation request or outcome failed five times and was moved to its poison queue, or the maintenance pass gave up asking again for a document: that document stays validation pending.'
    severity: 2
    enabled: true
    scopes: [
      insights.id
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'traces | where message has "rendition-validation-poison" or message has "rendition-validation-outcome-poison" or message has "moved to the poison queue" or message has "rendition validation abandoned"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

// ---------------------------------------------------------------- the CI deployment identity
// The workflow signs in as an Entra app registration (federated credential, see README "Deployment identity"). It deploys
// this template and the apps' code, so it needs to manage the resources and keep the apps' role assignments in place.
// It must not be able to give itself (or anyone) a data role on the archive, the catalog, the audit log or the
// secrets: Contributor + User Access Administrator could do all of that. Instead, on a privileged deployment:
// - Archive deployer: Contributor minus Cosmos DB data-plane role writes and every account key, connection string
//   or key-signed SAS (storage, Cosmos), and minus Key Vault access policies;
// - Role Based Access Control Administrator with a condition: create or delete only assignments of the roles below, to
//   the three apps' identities below (each app its own list). No Owner, User Access Administrator or RBAC Administrator.
// Azure offers no condition on an assignment's scope, so it could still, say, give the validator Blob Data Contributor
// on the archive account: what-if shows it, and the activity log records it.
var grantDeployer = privileged && !empty(deployerPrincipalId)

var deployerRoles = {
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
}

// Every Azure role this template assigns, per identity (infra test: these lists and the assignments agree).
var appAssignableRoles = [
  archiveWriterRoleName
  roles.reader
  roles.storageBlobDataContributor
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
  roles.keyVaultSecretsUser
  roles.monitoringMetricsPublisher
  queueRoles.reader
  queueRoles.messageProcessor
  queueRoles.messageSender
]

var exportAppAssignableRoles = [
  archiveExporterRoleName
  roles.reader
  roles.storageBlobDataContributor
  roles.keyVaultSecretsUser
  roles.monitoringMetricsPublisher
  queueRoles.reader
  queueRoles.messageProcessor
  queueRoles.messageSender
]

var validatorAssignableRoles = [
  validatorBlobRoleName
  roles.storageBlobDataContributor
  roles.keyVaultSecretsUser
  roles.monitoringMetricsPublisher
  queueRoles.reader
  queueRoles.messageProcessor
  queueRoles.messageSender
]

resource deployerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (grantDeployer) {
  name: guid(resourceGroup().id, 'archive-deployer')
  properties: {
    roleName: 'Archive deployer (${archiveAccountName})'
    description: 'Deploys the document archive: Contributor without role, lock or policy writes, Cosmos DB data-plane role writes, account keys, connection strings, key-signed SAS or Key Vault access policies.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: [
          '*'
        ]
        notActions: [
          // What Contributor withholds.
          'Microsoft.Authorization/*/Delete'
          'Microsoft.Authorization/*/Write'
          'Microsoft.Authorization/elevateAccess/Action'
          'Microsoft.Blueprint/blueprintAssignments/write'
          'Microsoft.Blueprint/blueprintAssignments/delete'
          'Microsoft.Compute/galleries/share/action'
          'Microsoft.Purview/consents/write'
          'Microsoft.Purview/consents/delete'
          'Microsoft.Resources/deploymentStacks/manageDenySetting/action'
          'Microsoft.Subscription/cancel/action'
          'Microsoft.Subscription/enable/action'
          // Cosmos DB: data-plane roles and keys (as the built-in Cosmos DB Operator withholds them).
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions/write'
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions/delete'
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/write'
          'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments/delete'
          'Microsoft.DocumentDB/databaseAccounts/readonlyKeys/*'
          'Microsoft.DocumentDB/databaseAccounts/regenerateKey/*'
          'Microsoft.DocumentDB/databaseAccounts/listKeys/*'
          'Microsoft.DocumentDB/databaseAccounts/listConnectionStrings/*'
          'Microsoft.DocumentDB/databaseAccounts/dataTransferJobs/*'
          // Storage: shared keys are off, but a Contributor could turn them on; without the keys that gains nothing.
          'Microsoft.Storage/storageAccounts/listKeys/action'
          'Microsoft.Storage/storageAccounts/regeneratekey/action'
          'Microsoft.Storage/storageAccounts/listAccountSas/action'
          'Microsoft.Storage/storageAccounts/listServiceSas/action'
          // Key Vault: access policies would grant secret access outside RBAC.
          'Microsoft.KeyVault/vaults/accessPolicies/write'
        ]
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource deployerResources 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer) {
  name: guid(resourceGroup().id, deployerPrincipalId, 'archive-deployer')
  properties: {
    principalId: deployerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: deployerRole.id
    description: 'CI deployment identity: manages the archive\'s resources, no data access.'
  }
}

resource deployerAccessAdmin 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (grantDeployer) {
  name: guid(resourceGroup().id, deployerPrincipalId, deployerRoles.rbacAdministrator)
  properties: {
    principalId: deployerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', deployerRoles.rbacAdministrator)
    description: 'CI deployment identity: keeps the three apps\' role assignments, nothing else.'
    conditionVersion: '2.0'
    // Create (@Request) and delete (@Resource): the app's identity with one of its roles, the export app's or the validator's with one of theirs.
    condition: '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR ((@Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${app.identity.principalId}} AND @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(appAssignableRoles, ', ')}}) OR (@Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${exportApp.identity.principalId}} AND @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(exportAppAssignableRoles, ', ')}}) OR (@Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${validatorApp.identity.principalId}} AND @Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(validatorAssignableRoles, ', ')}}))) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR ((@Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${app.identity.principalId}} AND @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(appAssignableRoles, ', ')}}) OR (@Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${exportApp.identity.principalId}} AND @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(exportAppAssignableRoles, ', ')}}) OR (@Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${validatorApp.identity.principalId}} AND @Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(validatorAssignableRoles, ', ')}})))'
  }
}

// Names and endpoints only: no keys, connection strings or secrets leave this template.
output functionAppName string = app.name
output apiBaseUrl string = 'https://${app.properties.defaultHostName}/api'
output webAppUrl string = 'https://${app.properties.defaultHostName}/'
output archiveStorageAccount string = archiveStorage.name
output cosmosAccount string = cosmos.name
output keyVaultName string = vault.name
output appPrincipalId string = app.identity.principalId
output validatorAppName string = validatorApp.name
output validatorPrincipalId string = validatorApp.identity.principalId
output exportAppName string = exportApp.name
output exportPrincipalId string = exportApp.identity.principalId
