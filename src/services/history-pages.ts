/**
 * One page of a channel's history, retried with jittered exponential backoff: Discord outages and 5xx
 * answers are usually brief, and a crawl that gives up keeps its cursor for the next run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FetchHistoryPage, HistoryMessage } from './types.ts';

export interface PageRetry {
  attempts: number;
  signal: AbortSignal;
  /** Called once when the last attempt failed (or the crawl was stopped), before the error is thrown. */
  onGiveUp(error: unknown, attempt: number): void;
}

export async function fetchPageWithRetry(
  fetchPage: FetchHistoryPage,
  channelId: string,
  page: Parameters<FetchHistoryPage>[1],
  retry: PageRetry,
): Promise<{ messages: HistoryMessage[] }> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fetchPage(channelId, page);
    } catch (error) {
      if (attempt >= retry.attempts || retry.signal.aborted) {
        retry.onGiveUp(error, attempt);
        throw error;
      }
      await sleep(500 * 2 ** (attempt - 1) * (0.5 + Math.random()), undefined, { signal: retry.signal }).catch(() => undefined);
    }
  }
}
