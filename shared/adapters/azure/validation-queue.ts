import { ValidationRequest, validationMessageText } from '../../kernel/validation';
import type { ValidationQueuePort } from '../../ports';
import { StorageQueue } from './storage-queue';

/**
 * The `rendition-validation` Storage queue and its poison queue. Message text is base64 JSON
 * (`{"requests":[…]}`, shared/kernel/validation.ts), the encoding the Functions queue trigger
 * (Java app in Azure) expects.
 */
export class ValidationQueue extends StorageQueue implements ValidationQueuePort {
  async send(requests: readonly ValidationRequest[]): Promise<void> {
    await this.sendText(validationMessageText(requests));
  }
}
