/**
 * Member privacy: members who asked to be forgotten in a guild. Their images are removed from the guild's
 * index (ImageStore.removeAuthor) and the indexer refuses their new posts — live, backfill and catch-up
 * alike — until they ask to be remembered again. The opt-outs live in keyv, so every process (shards,
 * machines) and every restart sees them.
 */
import type { Keyv } from 'keyv';
import { z } from 'zod';

export const PRIVACY_NAMESPACE = 'dejavu-privacy';

const optOutSchema = z.object({ at: z.number(), byUserId: z.string() });
export type OptOut = z.infer<typeof optOutSchema>;

/** What the indexer and the services need of the opt-out list. */
export interface MemberPrivacy {
  /** The member's opt-out in this guild, if they are forgotten. */
  optOut(guildId: string, userId: string): Promise<OptOut | undefined>;
  /** Records the opt-out (idempotent; keeps the first date). */
  forget(guildId: string, userId: string, byUserId: string): Promise<void>;
  /** Ends the opt-out; resolves whether there was one. */
  remember(guildId: string, userId: string): Promise<boolean>;
}

export class KeyvMemberPrivacy implements MemberPrivacy {
  constructor(private readonly keyv: Keyv<unknown>) {}

  async optOut(guildId: string, userId: string): Promise<OptOut | undefined> {
    const parsed = optOutSchema.safeParse(await this.keyv.get(optOutKey(guildId, userId)));
    return parsed.success ? parsed.data : undefined;
  }

  async forget(guildId: string, userId: string, byUserId: string): Promise<void> {
    if ((await this.optOut(guildId, userId)) !== undefined) return;
    await this.keyv.set(optOutKey(guildId, userId), { at: Date.now(), byUserId } satisfies OptOut);
  }

  async remember(guildId: string, userId: string): Promise<boolean> {
    if ((await this.optOut(guildId, userId)) === undefined) return false;
    await this.keyv.delete(optOutKey(guildId, userId));
    return true;
  }
}

function optOutKey(guildId: string, userId: string): string {
  return `optout:${guildId}:${userId}`;
}
