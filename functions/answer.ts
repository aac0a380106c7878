import type { HttpResponseInit } from '@azure/functions';
import { transportHeaders } from '../shared/http/respond';
import type { ArchiveResponse } from '../shared/http/types';

/**
 * An answer as the Functions host sends it: every one goes out over https. The Function App is httpsOnly
 * (infra/main.bicep): App Service's front end redirects plain http before any function runs. The request's
 * URL cannot tell: TLS ends at that front end, and on Linux plans the worker may be handed http://.
 */
export function toAzure(res: ArchiveResponse): HttpResponseInit {
  return { status: res.status, headers: { ...res.headers, ...transportHeaders('https') }, body: res.body };
}
