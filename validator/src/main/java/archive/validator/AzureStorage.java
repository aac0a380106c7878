package archive.validator;

import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.storage.blob.BlobClient;
import com.azure.storage.blob.BlobServiceClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobHttpHeaders;
import com.azure.storage.blob.models.BlobRequestConditions;
import com.azure.storage.blob.models.BlobStorageException;
import com.azure.storage.blob.options.BlobParallelUploadOptions;
import com.azure.storage.queue.QueueClient;
import com.azure.storage.queue.QueueClientBuilder;
import com.azure.storage.queue.QueueMessageEncoding;
import java.io.ByteArrayInputStream;
import java.util.Optional;
import java.util.function.Supplier;

/** The archive's storage account: the tenant containers' blobs, and the outcome queue the Node app reads. */
final class AzureStorage implements RenditionStore, ValidateRendition.Outcomes {
  /** One set of clients per worker process, made on first use (the host makes a function instance per invocation). */
  private static volatile AzureStorage shared;

  private final BlobServiceClient blobs;
  private final QueueClient outcomes;

  AzureStorage(BlobServiceClient blobs, QueueClient outcomes) {
    this.blobs = blobs;
    this.outcomes = outcomes;
  }

  static AzureStorage shared() {
    if (shared == null) {
      synchronized (AzureStorage.class) {
        if (shared == null) {
          var credential = new DefaultAzureCredentialBuilder().build();
          BlobServiceClient blobs = new BlobServiceClientBuilder().endpoint(System.getenv("ArchiveStorage__blobServiceUri")).credential(credential).buildClient();
          shared = new AzureStorage(blobs, new QueueClientBuilder().endpoint(System.getenv("ArchiveStorage__queueServiceUri"))
              .queueName(System.getenv("ARCHIVE_VALIDATION_QUEUE") + "-outcome").credential(credential).messageEncoding(QueueMessageEncoding.BASE64).buildClient());
        }
      }
    }
    return shared;
  }

  private BlobClient blob(String tenantId, String documentId, String name) {
    return blobs.getBlobContainerClient("tenant-" + tenantId).getBlobClient(documentId + "/" + name);
  }

  @Override
  public Optional<byte[]> rendition(String tenantId, String documentId) {
    return ifExists(() -> blob(tenantId, documentId, "rendition.pdf").downloadContent().toBytes());
  }

  @Override
  public boolean renditionExists(String tenantId, String documentId) {
    return ifExists(() -> blob(tenantId, documentId, "rendition.pdf").getProperties()).isPresent();
  }

  @Override
  public Optional<byte[]> storeReport(String tenantId, String documentId, byte[] report) {
    BlobClient target = blob(tenantId, documentId, "validation.json");
    try {
      // Create-only: If-None-Match *; the container's version-level WORM policy covers the new version.
      target.uploadWithResponse(new BlobParallelUploadOptions(new ByteArrayInputStream(report), report.length)
          .setHeaders(new BlobHttpHeaders().setContentType("application/json"))
          .setRequestConditions(new BlobRequestConditions().setIfNoneMatch("*")), null, null);
      return Optional.of(report);
    } catch (BlobStorageException e) {
      if (e.getStatusCode() == 404) return Optional.empty(); // the tenant's container is gone
      if (e.getStatusCode() != 409 && e.getStatusCode() != 412) throw e;
    }
    // A re-delivery: the stored report is the evidence.
    return ifExists(() -> target.downloadContent().toBytes());
  }

  @Override
  public void post(String message) {
    outcomes.sendMessage(message);
  }

  /** What `read` returns; empty on 404 (BlobNotFound, ContainerNotFound). Any other refusal throws. */
  private static <T> Optional<T> ifExists(Supplier<T> read) {
    try {
      return Optional.of(read.get());
    } catch (BlobStorageException e) {
      if (e.getStatusCode() == 404) return Optional.empty();
      throw e;
    }
  }
}
