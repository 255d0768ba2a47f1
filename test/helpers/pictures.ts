/**
 * Pictures the bot end-to-end tests draw themselves with sharp, so that suite runs on a fresh clone
 * (photos from ../shared stay for the quality tests). A `scene` is a seeded composition of gradients,
 * shapes, a word and fine noise; an `edit` is what a repost does to it (crop, rescale, brightness,
 * recompression). Two scenes differ in layout, colours and fine detail, so the real model
 * and the duplicate verifier tell them apart; an edit keeps the fine detail the verifier aligns.
 */
import sharp from 'sharp';
import { seededRandom as random } from '../../src/index/random.ts';

export const SCENE_WIDTH = 640;
export const SCENE_HEIGHT = 480;

const WORDS = ['harbour', 'tower', 'garden', 'market', 'bridge', 'forest', 'station', 'canyon', 'castle', 'meadow', 'island', 'temple'];

function colour(next: () => number): string {
  const channel = () => Math.floor(40 + next() * 200);
  return `rgb(${channel()},${channel()},${channel()})`;
}

function shapesSvg(seed: number): string {
  const next = random(seed);
  const shapes: string[] = [];
  const count = 6 + Math.floor(next() * 6);
  for (let index = 0; index < count; index += 1) {
    const x = next() * SCENE_WIDTH;
    const y = next() * SCENE_HEIGHT;
    const size = 30 + next() * 150;
    const fill = colour(next);
    const kind = Math.floor(next() * 4);
    if (kind === 0) shapes.push(`<circle cx="${x}" cy="${y}" r="${size / 2}" fill="${fill}"/>`);
    else if (kind === 1) shapes.push(`<rect x="${x}" y="${y}" width="${size}" height="${size * (0.4 + next())}" fill="${fill}" transform="rotate(${next() * 90} ${x} ${y})"/>`);
    else if (kind === 2) shapes.push(`<polygon points="${x},${y} ${x + size},${y + size * 0.3} ${x + size * 0.2},${y + size}" fill="${fill}"/>`);
    else shapes.push(`<path d="M${x} ${y} Q${x + size} ${y - size} ${x + size * 1.5} ${y + size * 0.5}" stroke="${fill}" stroke-width="${4 + next() * 14}" fill="none"/>`);
  }
  const word = WORDS[seed % WORDS.length] ?? 'scene';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${SCENE_WIDTH}" height="${SCENE_HEIGHT}">
    <defs><linearGradient id="bg" x1="0" y1="0" x2="${next()}" y2="1">
      <stop offset="0" stop-color="${colour(next)}"/><stop offset="1" stop-color="${colour(next)}"/>
    </linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#bg)"/>
    ${shapes.join('\n')}
    <text x="${40 + next() * 200}" y="${80 + next() * 320}" font-family="DejaVu Sans, sans-serif" font-size="${40 + next() * 30}" font-weight="bold" fill="${colour(next)}">${word} ${seed}</text>
  </svg>`;
}

/** Seeded grey noise at a few scales: the fine detail a photo has and flat vector art lacks. */
function noise(seed: number): Buffer {
  const next = random(seed * 7919 + 1);
  const pixels = Buffer.alloc(SCENE_WIDTH * SCENE_HEIGHT);
  const coarse = Array.from({ length: (SCENE_WIDTH / 16 + 1) * (SCENE_HEIGHT / 16 + 1) }, () => next());
  for (let y = 0; y < SCENE_HEIGHT; y += 1) {
    for (let x = 0; x < SCENE_WIDTH; x += 1) {
      const block = coarse[Math.floor(y / 16) * (SCENE_WIDTH / 16 + 1) + Math.floor(x / 16)] ?? 0;
      pixels[y * SCENE_WIDTH + x] = Math.round(128 + (block - 0.5) * 90 + (next() - 0.5) * 60);
    }
  }
  return pixels;
}

const scenes = new Map<number, Promise<Buffer>>();

/** A JPEG scene for `seed` (cached: the same bytes every call, as a reposted file would be). */
export function scene(seed: number): Promise<Buffer> {
  let made = scenes.get(seed);
  if (made === undefined) {
    made = (async () => {
      const shapes = await sharp(Buffer.from(shapesSvg(seed))).removeAlpha().raw().toBuffer();
      const grain = noise(seed);
      const mixed = Buffer.alloc(shapes.length);
      for (let index = 0; index < shapes.length; index += 1) {
        const value = (shapes[index] ?? 0) * 0.75 + (grain[Math.floor(index / 3)] ?? 0) * 0.25;
        mixed[index] = Math.max(0, Math.min(255, Math.round(value)));
      }
      return sharp(mixed, { raw: { width: SCENE_WIDTH, height: SCENE_HEIGHT, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
    })();
    scenes.set(seed, made);
  }
  return made;
}

export type Edit = 'crop' | 'smaller' | 'brighter';

/** What a repost does to a picture; each keeps most of it, as the copies a duplicate notice should catch. */
export async function edited(seed: number, edit: Edit): Promise<Buffer> {
  const original = sharp(await scene(seed));
  switch (edit) {
    case 'crop':
      return original.extract({ left: 48, top: 32, width: SCENE_WIDTH - 96, height: SCENE_HEIGHT - 72 }).jpeg({ quality: 85 }).toBuffer();
    case 'smaller':
      return original.resize(Math.round(SCENE_WIDTH * 0.6)).jpeg({ quality: 80 }).toBuffer();
    case 'brighter':
      return original.modulate({ brightness: 1.12, saturation: 1.1 }).jpeg({ quality: 75 }).toBuffer();
  }
}

/**
 * Stand-ins for the photo groups of the quality tests: `groups[i]` is [original, smaller copy, brighter
 * copy, cropped copy] of one scene, `distractors` are unrelated scenes.
 */
export async function pictureGroups(groupCount = 6, distractorCount = 8): Promise<{ groups: Buffer[][]; distractors: Buffer[] }> {
  const groups: Buffer[][] = [];
  for (let index = 0; index < groupCount; index += 1) {
    const seed = index + 1;
    groups.push([await scene(seed), await edited(seed, 'smaller'), await edited(seed, 'brighter'), await edited(seed, 'crop')]);
  }
  const distractors: Buffer[] = [];
  for (let index = 0; index < distractorCount; index += 1) distractors.push(await scene(1000 + index));
  return { groups, distractors };
}
