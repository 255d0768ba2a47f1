/**
 * The projections of reduced guilds, cached per guild: every add to a reduced guild and every reduced search
 * needs its projection, and loading one is a query plus a parse of a 256×1280 matrix.
 */
import type { PoolClient } from 'pg';
import { loadProjection, type StoredProjection } from './reduction.ts';

export class ProjectionCache {
  /** By guild; each names its id, so a guild whose projection was refitted loads the new one. */
  private readonly projections = new Map<string, StoredProjection>();

  constructor(private readonly dimensions: number) {}

  /** The guild's projection `id` (what its `guilds` row names), from the cache or the database. */
  async get(client: PoolClient, guildId: string, id: number): Promise<StoredProjection> {
    const cached = this.projections.get(guildId);
    if (cached?.id === id) return cached;
    const loaded = await loadProjection(client, guildId, id, this.dimensions);
    this.projections.set(guildId, loaded);
    return loaded;
  }

  /** Forgets the guild's projection (the guild was removed). */
  delete(guildId: string): void {
    this.projections.delete(guildId);
  }
}
