/**
 * A tenant id a credential may name is one whose blob containers Azure creates: a token naming
 * `ab--cd` or `abc-` was accepted, and its first upload failed with a 500 when Azure refused the
 * container name `tenant-ab--cd` (Azurite refuses it too).
 */
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { TENANT_ID } from '../../../shared/kernel/principal';

/** Azure's rule for a container name: 3 to 63 lower-case letters, digits and dashes, each dash between two letters or digits. */
const AZURE_CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;

it.each(['acme', 'abc', 'a-b', 'bakkerij-jansen-2', '0ab', 'x'.repeat(41)])('accepts %s, whose containers Azure accepts', (id) => {
  expect(TENANT_ID.test(id)).toBe(true);
  expect(AZURE_CONTAINER.test(blobLayout.documentsContainer(id))).toBe(true);
  expect(AZURE_CONTAINER.test(blobLayout.exportsContainer(id))).toBe(true);
});

it.each(['ab--cd', 'abc-', '-abc', 'ab', 'x'.repeat(42), 'Acme', 'ac_me', 'ac.me', 'acme\n'])('refuses %j', (id) => {
  expect(TENANT_ID.test(id)).toBe(false);
});
