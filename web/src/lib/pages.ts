/**
 * Paging by continuation token. The API refuses a token used with another search, sort or list
 * (400 invalid_query), and every refusal costs the person a refused audit entry and part of their
 * refusal budget. So the tokens belong to the query they were issued for, in the same render: a new
 * search or sort is page 1 at once, never one request with the old page's token. A token the API
 * refuses all the same (issued before a deployment, a month that rolled over) restarts at page 1
 * rather than showing an error.
 */
import { useState } from 'react';

type Tokens = readonly (string | undefined)[];
export interface PageTrail {
  /** The query the tokens were issued for. */
  key: string;
  /** Index n holds the token that fetches page n+1; [undefined] is page 1. */
  tokens: Tokens;
}

const FIRST: Tokens = [undefined];

/** The tokens that hold for `key`: those of the trail when it was made for that query, else page 1's. */
export function tokensFor(trail: PageTrail, key: string): Tokens {
  return trail.key === key ? trail.tokens : FIRST;
}

/** Whether `error` is the API refusing the continuation token sent (not a filter: those come with field errors). */
export function refusedToken(error: unknown, token: string | undefined): boolean {
  if (token === undefined || !error || typeof error !== 'object' || !('problem' in error)) return false;
  const problem = (error as { problem?: { code?: string; errors?: { path: string }[] } }).problem;
  if (problem?.code !== 'invalid_query') return false;
  const fields = (problem.errors ?? []).map((e) => e.path);
  return fields.every((p) => p === 'continuationToken');
}

export interface Pages {
  /** The token of the page shown (undefined: page 1). */
  token: string | undefined;
  /** 0 for page 1. */
  page: number;
  next: (token: string | null | undefined) => void;
  previous: () => void;
}

/** Pages of the query named by `key` (its filters and sort, serialised). */
export function usePages(key: string): Pages & { restartIfRefused: (error: unknown) => void } {
  const [trail, setTrail] = useState<PageTrail>({ key, tokens: FIRST });
  const tokens = tokensFor(trail, key);
  const page = tokens.length - 1;
  const token = tokens[page];
  return {
    token,
    page,
    next: (next) => next && setTrail({ key, tokens: [...tokens, next] }),
    previous: () => setTrail({ key, tokens: tokens.length > 1 ? tokens.slice(0, -1) : FIRST }),
    restartIfRefused: (error) => {
      if (refusedToken(error, token)) setTrail({ key, tokens: FIRST });
    },
  };
}

/**
 * Whether the page shown is the whole list: page 1 with no page after it. Only then may a screen say there are none,
 * or count the list from the rows shown: an empty page 2 (the API hands out a token after a full last page, and a
 * page empties when its rows are approved or revoked) said "No proposed changes are waiting" beside a page 1 of them.
 */
export function wholeList(page: number, data: { continuationToken?: string | null } | undefined): boolean {
  return page === 0 && !data?.continuationToken;
}

/**
 * `selected` with a page's rows all chosen (`on`) or all unchosen: the rows of other pages stay as they were. Broke: the
 * disposal review's "Select all on this page" replaced the choice with this page's rows, and unticking it emptied it:
 * documents chosen on another page were dropped from the approval unseen (red team 27).
 */
export function withPageRows(selected: ReadonlySet<string>, rows: readonly string[], on: boolean): Set<string> {
  const next = new Set(selected);
  for (const id of rows) {
    if (on) next.add(id);
    else next.delete(id);
  }
  return next;
}
