import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
  UserDelegationKey,
} from '@azure/storage-blob';
import type { LinkOptions, LinksPort, Logger } from '../../ports';

export const MAX_LINK_SECONDS = 3600;

/**
 * Short-lived, read-only links to exactly one blob (Shared Access Signature, `sr=b`, `sp=r`).
 *
 * In Azure the SAS is signed with a **user delegation key** obtained with the app's managed
 * identity: no account key exists in the app, and revoking the identity revokes every link.
 *
 * LOCAL ONLY: Azurite has no user delegation with connection-string auth, so when the runtime is
 * `local` the SAS is signed with the **emulator's well-known account key**. That path is refused
 * in Azure (the config loader already refuses connection strings there, and this class refuses
 * account-key signing unless runtime is `local`).
 */
export class BlobLinks implements LinksPort {
  private delegation: { key: UserDelegationKey; expiresOn: Date } | null = null;
  private warned = false;

  constructor(
    private readonly service: BlobServiceClient,
    private readonly runtime: 'azure' | 'local',
    private readonly log: Logger,
  ) {}

  async readOnlyUrl(containerName: string, blobName: string, opts: LinkOptions, now: Date): Promise<{ url: string; expiresOn: Date }> {
    const ttl = Math.min(Math.max(1, Math.floor(opts.ttlSeconds)), MAX_LINK_SECONDS);
    const startsOn = new Date(now.getTime() - 5 * 60_000); // clock skew between us and Storage
    // The signature names whole seconds (the SDK drops the milliseconds): the link ends at the second at or before its limit.
    const expiresOn = new Date(Math.floor(Math.min(now.getTime() + ttl * 1000, opts.notAfter?.getTime() ?? Infinity) / 1000) * 1000);
    const values = {
      containerName,
      blobName,
      permissions: BlobSASPermissions.parse('r'),
      startsOn,
      expiresOn,
      protocol: this.runtime === 'azure' ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
      ...(opts.contentDisposition ? { contentDisposition: opts.contentDisposition } : {}),
      ...(opts.contentType ? { contentType: opts.contentType } : {}),
    };
    const blobUrl = this.service.getContainerClient(containerName).getBlobClient(blobName).url;
    const credential = this.service.credential;
    let sas: string;
    if (this.runtime === 'local' && credential instanceof StorageSharedKeyCredential) {
      if (!this.warned) {
        this.warned = true;
        this.log.warn('LOCAL ONLY: download links are signed with the storage emulator account key (Azurite has no user delegation). In Azure they are signed with a user delegation key from the managed identity; an account key is never used there.');
      }
      sas = generateBlobSASQueryParameters(values, credential).toString();
    } else {
      const key = await this.userDelegationKey(startsOn, expiresOn);
      sas = generateBlobSASQueryParameters(values, key, this.service.accountName).toString();
    }
    return { url: `${blobUrl}?${sas}`, expiresOn };
  }

  /** One delegation key, reused while it outlives the link being signed. */
  private async userDelegationKey(startsOn: Date, linkExpiresOn: Date): Promise<UserDelegationKey> {
    if (this.delegation && this.delegation.expiresOn.getTime() > linkExpiresOn.getTime() + 60_000) return this.delegation.key;
    const expiresOn = new Date(startsOn.getTime() + 3 * 3600_000);
    const key = await this.service.getUserDelegationKey(startsOn, expiresOn);
    this.delegation = { key, expiresOn };
    return key;
  }
}
