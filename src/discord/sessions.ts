/**
 * Paging sessions for similarity answers: the query (a vector or an indexed record) and its options are kept
 * in memory for as long as Discord lets the bot edit the answer, so "Next" never re-downloads or re-embeds.
 */
import { randomBytes } from 'node:crypto';
import type { SimilarityQuery } from '../services/types.ts';

export interface SimilarSession {
  guildId: string;
  askerId: string;
  replyChannelId: string;
  ephemeral: boolean;
  query: SimilarityQuery;
  k: number;
  scopeChannelId?: string;
  excludeMessageIds: string[];
  excludeSourceKeys: string[];
}

/** Interaction tokens live 15 minutes; a button older than that cannot edit the answer anyway. */
const SESSION_TTL_MS = 15 * 60 * 1000;
/** Bounds memory: a vector is 5 KB, so 2 000 sessions stay near 10 MB. */
const MAX_SESSIONS = 2000;

export class SimilarSessions {
  private readonly sessions = new Map<string, { session: SimilarSession; expiresAt: number }>();

  constructor(private readonly ttlMs = SESSION_TTL_MS) {}

  create(session: SimilarSession, now = Date.now()): string {
    this.prune(now);
    const id = randomBytes(6).toString('base64url');
    this.sessions.set(id, { session, expiresAt: now + this.ttlMs });
    return id;
  }

  get(id: string, now = Date.now()): SimilarSession | undefined {
    const entry = this.sessions.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    return entry.session;
  }

  private prune(now: number): void {
    for (const [id, entry] of this.sessions) if (entry.expiresAt <= now) this.sessions.delete(id);
    // Maps iterate in insertion order: the oldest sessions go first.
    while (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
  }
}
