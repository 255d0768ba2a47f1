/**
 * Images accepted from Discord but not indexed when the process stopped (queue refused them, or the
 * shutdown deadline passed before they started) are saved to keyv and indexed again at the next start:
 * nothing is dropped silently. Stored in chunks so no single keyv value grows large.
 */
import type { Keyv } from 'keyv';
import { z } from 'zod';
import type { ImageReference } from './types.ts';

export const UNFINISHED_NAMESPACE = 'dejavu-unfinished';
const CHUNK = 500;

const referenceSchema = z.object({
  source: z.object({
    guildId: z.string(),
    channelId: z.string(),
    messageId: z.string(),
    sourceKey: z.string(),
    authorId: z.string(),
    createdAt: z.number(),
    nsfw: z.boolean(),
    kind: z.enum(['attachment', 'embed', 'file']),
    label: z.string(),
  }),
  url: z.string(),
  proxyUrl: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  contentType: z.string().optional(),
  size: z.number().optional(),
});

/** Appends `images` to what is already saved. */
export async function saveUnfinished(keyv: Keyv<unknown>, images: readonly ImageReference[]): Promise<void> {
  if (images.length === 0) return;
  const saved = z.number().int().min(0).catch(0).parse(await keyv.get('chunks'));
  let chunks = saved;
  for (let start = 0; start < images.length; start += CHUNK) {
    await keyv.set(`chunk:${chunks}`, images.slice(start, start + CHUNK));
    chunks += 1;
  }
  await keyv.set('chunks', chunks);
}

/** Everything saved (invalid entries skipped), and how many chunks it came from (for clearUnfinished). */
export async function loadUnfinished(keyv: Keyv<unknown>): Promise<{ images: ImageReference[]; chunks: number }> {
  const chunks = z.number().int().min(0).catch(0).parse(await keyv.get('chunks'));
  const images: ImageReference[] = [];
  for (let index = 0; index < chunks; index += 1) {
    const stored = z.array(z.unknown()).catch([]).parse(await keyv.get(`chunk:${index}`));
    for (const entry of stored) {
      const parsed = referenceSchema.safeParse(entry);
      if (parsed.success) images.push(parsed.data);
    }
  }
  return { images, chunks };
}

/**
 * Forgets what loadUnfinished returned, once it has been indexed again (a crash before this just means
 * those images are retried once more: indexing is idempotent).
 */
export async function clearUnfinished(keyv: Keyv<unknown>, chunks: number): Promise<void> {
  await keyv.delete('chunks');
  for (let index = 0; index < chunks; index += 1) await keyv.delete(`chunk:${index}`);
}
