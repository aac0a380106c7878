/**
 * A list the API pages by continuation token: the token trail of the query named by `pageKey` (./pages.ts),
 * the page's query with the previous rows kept up while the next loads (the Pager waits on them), and a restart
 * at page 1 when the API refuses the token all the same. One piece for every paged list, so none gets one part wrong.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { usePages } from './pages';

export function usePagedQuery<T>(pageKey: string, queryKey: readonly unknown[], fetchPage: (token: string | undefined) => Promise<T>, opts: { enabled?: boolean } = {}) {
  const pages = usePages(pageKey);
  const { token, restartIfRefused } = pages;
  const list = useQuery({ queryKey: [...queryKey, token], queryFn: () => fetchPage(token), placeholderData: keepPreviousData, enabled: opts.enabled });
  // On a new error only: `pages` is a new object every render.
  useEffect(() => restartIfRefused(list.error), [list.error]);
  return { pages, list };
}
