package archive.validator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobStorageException;
import com.azure.storage.common.policy.RequestRetryOptions;
import com.azure.storage.common.policy.RetryPolicyType;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The storage answers that decide between dropping a request and having it delivered again, as the Azure SDK
 * reports them: 404 (blob or container gone) is an answer, anything else (503, 403) a failure.
 */
class AzureStorageTest {
  private static final String DOC = "01953c2e-8a40-7000-8000-000000000001";

  /** Answers each request with the next response given; records what was asked. */
  static final class Storage implements HttpClient {
    final Deque<Answer> answers = new ArrayDeque<>();
    final List<String> asked = new ArrayList<>();

    record Answer(int status, String errorCode, byte[] body) {}

    Storage answer(int status, String errorCode, byte[] body) {
      answers.add(new Answer(status, errorCode, body));
      return this;
    }

    @Override
    public Mono<HttpResponse> send(HttpRequest request) {
      // The SDK sends the blob name's "/" as %2F; storage reads both alike.
      asked.add(request.getHttpMethod() + " " + URLDecoder.decode(request.getUrl().getPath(), StandardCharsets.UTF_8));
      Answer a = answers.remove();
      HttpHeaders headers = new HttpHeaders().set("x-ms-version", "2024-11-04").set("Content-Length", String.valueOf(a.body().length));
      if (a.errorCode() != null) headers.set("x-ms-error-code", a.errorCode()).set("Content-Type", "application/xml");
      else headers.set("Content-Type", "application/octet-stream").set("ETag", "\"0x1\"").set("Last-Modified", "Sat, 01 Mar 2025 12:00:00 GMT").set("x-ms-blob-type", "BlockBlob");
      return Mono.just(new HttpResponse(request) {
        @Override
        public int getStatusCode() {
          return a.status();
        }

        @Override
        public String getHeaderValue(String name) {
          return headers.getValue(name);
        }

        @Override
        public HttpHeaders getHeaders() {
          return headers;
        }

        @Override
        public Flux<ByteBuffer> getBody() {
          return a.body().length == 0 ? Flux.empty() : Flux.just(ByteBuffer.wrap(a.body()));
        }

        @Override
        public Mono<byte[]> getBodyAsByteArray() {
          return Mono.just(a.body());
        }

        @Override
        public Mono<String> getBodyAsString() {
          return Mono.just(new String(a.body(), StandardCharsets.UTF_8));
        }

        @Override
        public Mono<String> getBodyAsString(Charset charset) {
          return Mono.just(new String(a.body(), charset));
        }
      });
    }
  }

  private static byte[] error(String code) {
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code + "</Code><Message>" + code + "</Message></Error>").getBytes(StandardCharsets.UTF_8);
  }

  private final Storage storage = new Storage();
  // One try: the SDK's own retries of a 503 are not what is tested here.
  private final AzureStorage store = new AzureStorage(new BlobServiceClientBuilder().endpoint("https://archive.blob.core.windows.net").httpClient(storage)
      .retryOptions(new RequestRetryOptions(RetryPolicyType.FIXED, 1, (Integer) null, null, null, null)).buildClient(), null);

  @Test
  void aRenditionThatIsGoneReadsAsNone() {
    storage.answer(404, "BlobNotFound", error("BlobNotFound")).answer(404, "ContainerNotFound", error("ContainerNotFound"));
    assertEquals(Optional.empty(), store.rendition("acme", DOC));
    assertEquals(Optional.empty(), store.rendition("acme", DOC));
    assertEquals(List.of("GET /tenant-acme/" + DOC + "/rendition.pdf", "GET /tenant-acme/" + DOC + "/rendition.pdf"), storage.asked);
  }

  @Test
  void aStoredRenditionIsRead() {
    byte[] pdf = "%PDF-1.7".getBytes(StandardCharsets.US_ASCII);
    storage.answer(200, null, pdf);
    assertArrayEquals(pdf, store.rendition("acme", DOC).orElseThrow());
  }

  @Test
  void storageThatFailsOrRefusesIsAFailureNotAnAbsence() {
    storage.answer(503, "ServerBusy", error("ServerBusy")).answer(500, "InternalError", error("InternalError")).answer(403, "AuthorizationPermissionMismatch", error("AuthorizationPermissionMismatch"));
    assertEquals(503, assertThrows(BlobStorageException.class, () -> store.rendition("acme", DOC)).getStatusCode());
    assertEquals(500, assertThrows(BlobStorageException.class, () -> store.renditionExists("acme", DOC)).getStatusCode());
    assertEquals(403, assertThrows(BlobStorageException.class, () -> store.storeReport("acme", DOC, new byte[] {'{', '}'})).getStatusCode());
  }

  @Test
  void whetherTheRenditionStillExists() {
    storage.answer(200, null, new byte[0]).answer(404, null, new byte[0]);
    assertTrue(store.renditionExists("acme", DOC));
    assertFalse(store.renditionExists("acme", DOC));
    assertEquals(List.of("HEAD /tenant-acme/" + DOC + "/rendition.pdf", "HEAD /tenant-acme/" + DOC + "/rendition.pdf"), storage.asked);
  }

  @Test
  void aReportIsStoredCreateOnlyAndAnEarlierOneIsTheEvidence() {
    byte[] report = "{\"report\":1}".getBytes(StandardCharsets.UTF_8);
    byte[] earlier = "{\"report\":0}".getBytes(StandardCharsets.UTF_8);
    storage.answer(201, null, new byte[0]);
    assertArrayEquals(report, store.storeReport("acme", DOC, report).orElseThrow());
    storage.answer(409, "BlobAlreadyExists", error("BlobAlreadyExists")).answer(200, null, earlier);
    assertArrayEquals(earlier, store.storeReport("acme", DOC, report).orElseThrow());
    assertEquals(List.of("PUT /tenant-acme/" + DOC + "/validation.json", "PUT /tenant-acme/" + DOC + "/validation.json", "GET /tenant-acme/" + DOC + "/validation.json"), storage.asked);
  }

  @Test
  void aReportWhoseDocumentIsGoneIsNone() {
    byte[] report = "{\"report\":1}".getBytes(StandardCharsets.UTF_8);
    // The earlier report deleted with its document between the conflict and the read; or the tenant's container gone.
    storage.answer(409, "BlobAlreadyExists", error("BlobAlreadyExists")).answer(404, "BlobNotFound", error("BlobNotFound")).answer(404, "ContainerNotFound", error("ContainerNotFound"));
    assertEquals(Optional.empty(), store.storeReport("acme", DOC, report));
    assertEquals(Optional.empty(), store.storeReport("acme", DOC, report));
  }
}
