/**
 * Per-guild settings (validated with zod, defaults filled in) stored in keyv, and the in-memory
 * per-user cooldown used by the 🔍 reaction.
 */
import type { Keyv } from 'keyv';
import { z } from 'zod';
import { DejavuError } from '../errors.ts';
import type { Cooldowns, GuildSettings, GuildSettingsService } from './types.ts';
import { waveSettingsShape } from './waves.ts';
import { mediaSettingsShape } from './media.ts';

export const SETTINGS_NAMESPACE = 'dejavu-settings';
const HOUR_MS = 60 * 60 * 1000;
const snowflake = z.string().regex(/^\d{1,20}$/, 'must be a Discord id');

export const guildSettingsSchema = z.object({
  duplicateThreshold: z.number().min(0).max(1).nullable().default(null),
  noticeMode: z.enum(['reply', 'react', 'log', 'off']).default('reply'),
  logChannelId: snowflake.nullable().default(null),
  sameAuthorLeewayMs: z.number().int().min(0).max(365 * 24 * HOUR_MS).default(24 * HOUR_MS),
  ignoredChannelIds: z.array(snowflake).max(500).default([]),
  includeOtherBots: z.boolean().default(false),
  reactionEmoji: z.string().min(1).max(64).default('🔍'),
  ephemeralReplies: z.boolean().default(true),
  locale: z.string().min(2).max(10).nullable().default(null),
  // --- Duplicate-notice moderation: meme templates, "not a repost" reports, allowed reposters ---
  templateMatches: z.enum(['ignore', 'note']).default('ignore'),
  allowedReposterRoleId: snowflake.nullable().default(null),
  // --- end duplicate-notice moderation ---
  // Spam waves (src/services/waves.ts).
  ...waveSettingsShape,
  // GIFs and videos (src/services/media.ts).
  ...mediaSettingsShape,
});

export const DEFAULT_GUILD_SETTINGS: Readonly<GuildSettings> = Object.freeze(guildSettingsSchema.parse({}));

/**
 * Reads stored settings leniently: a field that no longer validates (older version, hand edit) falls
 * back to its default instead of breaking the guild.
 */
export function parseStoredSettings(stored: unknown): GuildSettings {
  const whole = guildSettingsSchema.safeParse(stored ?? {});
  if (whole.success) return whole.data;
  const settings: Record<string, unknown> = { ...DEFAULT_GUILD_SETTINGS };
  if (typeof stored === 'object' && stored !== null) {
    for (const [key, field] of Object.entries(guildSettingsSchema.shape)) {
      const parsed = (field as z.ZodType).safeParse((stored as Record<string, unknown>)[key]);
      if (parsed.success) settings[key] = parsed.data;
    }
  }
  return settings as unknown as GuildSettings;
}

/** The settings in keyv, with a small read cache (settings are read on every message). */
export class GuildSettingsStore implements GuildSettingsService {
  private readonly cache = new Map<string, GuildSettings>();

  constructor(private readonly keyv: Keyv<unknown>, private readonly maxCached = 10_000) {}

  async get(guildId: string): Promise<GuildSettings> {
    const cached = this.cache.get(guildId);
    if (cached !== undefined) return cached;
    const settings = parseStoredSettings(await this.keyv.get(key(guildId)));
    this.remember(guildId, settings);
    return settings;
  }

  async update(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings> {
    const current = await this.get(guildId);
    const parsed = guildSettingsSchema.safeParse({ ...current, ...patch });
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
      throw new DejavuError('INVALID_INPUT', `Invalid settings: ${problems}`, { guildId, fields: Object.keys(patch) });
    }
    const settings: GuildSettings = { ...parsed.data, ignoredChannelIds: [...new Set(parsed.data.ignoredChannelIds)] };
    await this.keyv.set(key(guildId), settings);
    this.remember(guildId, settings);
    return settings;
  }

  async remove(guildId: string): Promise<void> {
    this.cache.delete(guildId);
    await this.keyv.delete(key(guildId));
  }

  private remember(guildId: string, settings: GuildSettings): void {
    if (this.cache.size >= this.maxCached) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(guildId, settings);
  }
}

function key(guildId: string): string {
  return `guild:${guildId}`;
}

/** Fixed-window cooldown per key; memory is bounded by sweeping expired keys. */
export class CooldownTracker implements Cooldowns {
  private readonly until = new Map<string, number>();

  constructor(readonly cooldownMs: number, private readonly maxKeys = 100_000) {}

  tryAcquire(key: string, now = Date.now()): boolean {
    if (this.remainingMs(key, now) > 0) return false;
    if (this.until.size >= this.maxKeys) this.sweep(now);
    this.until.set(key, now + this.cooldownMs);
    return true;
  }

  remainingMs(key: string, now = Date.now()): number {
    const until = this.until.get(key);
    return until === undefined ? 0 : Math.max(0, until - now);
  }

  private sweep(now: number): void {
    for (const [key, until] of this.until) if (until <= now) this.until.delete(key);
    // Still full of live cooldowns: forget the oldest rather than grow without bound.
    while (this.until.size >= this.maxKeys) {
      const oldest = this.until.keys().next().value;
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
  }
}
