/**
 * Remembers recently seen ids so an event that Discord (or our own code) delivers twice is handled once.
 * Bounded: past `capacity` ids the oldest are forgotten, so memory stays flat on a busy bot.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  /** True the first time an id is seen (and records it); false on every repeat. */
  firstSighting(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }
}
