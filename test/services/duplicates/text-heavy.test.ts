/**
 * The shipped duplicate decision on text-heavy images drawn here with sharp + SVG text (other styles than the
 * evaluation set's): dark and light chat screenshots, a tweet, code, Japanese text and memes. Real model
 * weights give the cosine shortlist; the signatures are the ones the embedder stores.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { createEmbedder, defaultEmbedderOptions, type Embedder, type ImageEmbedding } from '../../../src/embedding/index.ts';
import { detectDuplicates, type VerifiedCandidate } from '../../../src/services/duplicates/index.ts';
import type { ImageRecord, ScoredRecord } from '../../../src/store/types.ts';
import { COREL_DIR, hasShared, requireShared, SHARED_MODEL_DIR } from '../../helpers/shared.ts';

let embedder: Embedder | undefined;
before(async () => {
  if (hasShared()) embedder = await createEmbedder(defaultEmbedderOptions({ modelDir: SHARED_MODEL_DIR, workers: 0 }));
});
after(() => embedder?.close());

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Theme {
  background: string;
  bubble: string;
  text: string;
  bar: string;
  font: string;
}

const DARK: Theme = { background: '#1e1f22', bubble: '#2b2d31', text: '#dbdee1', bar: '#111214', font: 'DejaVu Sans, sans-serif' };
const LIGHT: Theme = { background: '#ffffff', bubble: '#eef0f3', text: '#1d1f23', bar: '#d9dce1', font: 'DejaVu Sans, sans-serif' };
const JAPANESE: Theme = { ...LIGHT, font: 'IPAGothic, sans-serif' };

/** A phone chat screenshot: a top bar, then avatars and message bubbles. */
function chat(theme: Theme, messages: readonly string[]): Promise<Buffer> {
  const width = 540;
  const height = 960;
  const rows = messages.map((message, index) => {
    const y = 110 + index * 105;
    return `<circle cx="45" cy="${y + 20}" r="22" fill="${index % 2 === 0 ? '#5865f2' : '#3ba55c'}"/>
      <rect x="80" y="${y - 8}" width="430" height="78" rx="14" fill="${theme.bubble}"/>
      <text x="96" y="${y + 22}" font-family="${theme.font}" font-size="21" fill="${theme.text}">${escape(message.slice(0, 26))}</text>
      <text x="96" y="${y + 52}" font-family="${theme.font}" font-size="21" fill="${theme.text}">${escape(message.slice(26, 52))}</text>`;
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="${theme.background}"/>
    <rect width="100%" height="64" fill="${theme.bar}"/>
    <text x="24" y="42" font-family="${theme.font}" font-size="24" fill="${theme.text}"># general</text>
    ${rows.join('\n')}
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

/** A tweet card: avatar, name, several lines of text, counters. */
function tweet(lines: readonly string[]): Promise<Buffer> {
  const body = lines.map((line, index) => `<text x="32" y="${150 + index * 40}" font-family="DejaVu Sans, sans-serif" font-size="28" fill="#0f1419">${escape(line)}</text>`);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="800" height="460">
    <rect width="100%" height="100%" fill="#ffffff"/>
    <circle cx="62" cy="70" r="30" fill="#1d9bf0"/>
    <text x="108" y="64" font-family="DejaVu Sans, sans-serif" font-size="24" font-weight="bold" fill="#0f1419">Someone Posting</text>
    <text x="108" y="94" font-family="DejaVu Sans, sans-serif" font-size="20" fill="#536471">@someone · 3h</text>
    ${body.join('\n')}
    <text x="32" y="420" font-family="DejaVu Sans, sans-serif" font-size="20" fill="#536471">12 replies   48 reposts   1.2K likes</text>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A code editor screenshot in a monospace font. */
function code(lines: readonly string[]): Promise<Buffer> {
  const body = lines.map(
    (line, index) =>
      `<text x="20" y="${60 + index * 30}" font-family="DejaVu Sans Mono, monospace" font-size="20" fill="#9cdcfe">${String(index + 1).padStart(2)}  ${escape(line)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="520">
    <rect width="100%" height="100%" fill="#1e1e1e"/>
    <rect width="100%" height="30" fill="#323233"/>
    ${body.join('\n')}
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** A meme: one photo with a white, black-outlined caption at the top and the bottom. */
async function meme(photo: Buffer, top: string, bottom: string): Promise<Buffer> {
  const { data, info } = await sharp(photo).resize(480, 360, { fit: 'cover' }).jpeg().toBuffer({ resolveWithObject: true });
  const caption = (text: string, y: number): string =>
    `<text x="240" y="${y}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-weight="bold" font-size="34" fill="#fff" stroke="#000" stroke-width="2">${escape(text)}</text>`;
  const overlay = `<svg xmlns="http://www.w3.org/2000/svg" width="${info.width}" height="${info.height}">${caption(top, 48)}${caption(bottom, 340)}</svg>`;
  return sharp(data).composite([{ input: Buffer.from(overlay) }]).jpeg({ quality: 88 }).toBuffer();
}

/** What a repost does to a screenshot: the top bar cropped off, scaled to 80 %, JPEG quality 62. */
async function repost(bytes: Buffer, cropTop: number): Promise<Buffer> {
  const { width, height } = await sharp(bytes).metadata();
  return sharp(bytes)
    .extract({ left: 0, top: cropTop, width, height: height - cropTop })
    .resize(Math.round(width * 0.8))
    .jpeg({ quality: 62 })
    .toBuffer();
}

function record(id: number, label: string, embedding: ImageEmbedding): ImageRecord {
  return {
    id, guildId: 'g', channelId: 'c', messageId: String(id), sourceKey: label, authorId: 'a', createdAt: id, nsfw: false,
    kind: 'file', label, contentHash: String(id), width: embedding.width, height: embedding.height, signature: embedding.signature,
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index += 1) sum += a[index]! * b[index]!;
  return sum;
}

/** Runs the detector for `query` against every indexed image, with the real cosine of each. */
async function judge(query: ImageEmbedding, indexed: ReadonlyArray<{ record: ImageRecord; embedding: ImageEmbedding }>): Promise<Array<[string, VerifiedCandidate['kind']]>> {
  const candidates: ScoredRecord[] = indexed.map((item) => ({ record: item.record, score: cosine(query.vector, item.embedding.vector) }));
  return (await detectDuplicates({ embedding: query }, candidates)).map((match) => [match.record.label, match.kind]);
}

const CHAT_A = ['did anyone see the patch notes', 'yeah the new map is huge and the', 'loot tables changed again lol', 'I am logging in after dinner', 'bring snacks, it is going to be long'];
const CHAT_B = ['who is hosting the quiz on friday', 'I can do it if nobody else wants', 'remember last time the questions', 'were way too hard for everyone', 'fine, easier ones this time then'];
const CHAT_JA_A = ['今日の会議は何時からですか', '午後三時からです。資料は共有済み', 'ありがとうございます、確認します', '遅れる場合は連絡してください', '了解です、よろしくお願いします'];
const CHAT_JA_B = ['週末の予定はもう決まりましたか', 'まだです。天気次第で山に行くかも', 'いいですね、写真を送ってください', '新しいカメラを買ったばかりです', '楽しみにしています、気をつけて'];

/** Whether Japanese text renders as glyphs: without a Japanese font, two different lines draw the same boxes. */
async function rendersJapanese(): Promise<boolean> {
  const line = async (text: string): Promise<Buffer> =>
    sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40"><text x="4" y="30" font-family="${JAPANESE.font}" font-size="24">${text}</text></svg>`))
      .greyscale()
      .raw()
      .toBuffer();
  return !(await line(CHAT_JA_A[0] as string)).equals(await line(CHAT_JA_B[0] as string));
}

test('chat screenshots (dark, light, Japanese): a repost is found, another screenshot of the layout is not a duplicate', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const cases: Array<[string, Theme, readonly string[], readonly string[]]> = [
    ['dark', DARK, CHAT_A, CHAT_B],
    ['light', LIGHT, CHAT_A, CHAT_B],
  ];
  if (await rendersJapanese()) cases.push(['japanese', JAPANESE, CHAT_JA_A, CHAT_JA_B]);
  else {
    const reason = 'SKIPPED the Japanese case: no Japanese font (apt-get install fonts-ipafont-gothic; .ci/run installs it)';
    console.warn(reason);
    t.diagnostic(reason);
  }
  const model: Embedder = embedder;
  for (const [name, theme, first, second] of cases) {
    const original = await chat(theme, first);
    const a: ImageEmbedding = await model.embed(original);
    const b: ImageEmbedding = await model.embed(await chat(theme, second));
    const indexed = [
      { record: record(1, `${name}-a`, a), embedding: a },
      { record: record(2, `${name}-b`, b), embedding: b },
    ];
    const reposted = await model.embed(await repost(original, 64));
    assert.deepEqual(await judge(reposted, indexed), [[`${name}-a`, 'repost']], `${name}: the repost`);
    assert.deepEqual(await judge(b, indexed.slice(0, 1)), [], `${name}: another screenshot of the layout`);
  }
});

test('a tweet and a code screenshot: reposts are found, other text in the same layout is not a duplicate', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const tweetA = await tweet(['Hot take: the best time to plant', 'a tree was twenty years ago and', 'the second best time is after lunch.']);
  const tweetB = await tweet(['Reminder that the meeting could', 'have been an email, and the email', 'could have been a short message.']);
  const codeA = await code(['function add(a, b) {', '  return a + b;', '}', '', 'const total = [1, 2, 3].reduce(add, 0);', 'console.log(total);']);
  const codeB = await code(['async function load(url) {', '  const response = await fetch(url);', '  return response.json();', '}', '', 'load("/api").then(print);']);
  const embedded = await Promise.all([tweetA, tweetB, codeA, codeB].map((bytes) => embedder!.embed(bytes)));
  const labels = ['tweet-a', 'tweet-b', 'code-a', 'code-b'];
  const indexed = embedded.map((embedding, index) => ({ record: record(index + 1, labels[index]!, embedding), embedding }));
  assert.deepEqual(await judge(await embedder.embed(await repost(tweetA, 0)), indexed), [['tweet-a', 'repost']]);
  assert.deepEqual(await judge(await embedder.embed(await repost(codeA, 30)), indexed), [['code-a', 'repost']]);
  assert.deepEqual(await judge(embedded[1]!, [indexed[0]!]), []);
  assert.deepEqual(await judge(embedded[3]!, [indexed[2]!]), []);
});

test('memes: the same picture under another caption is a template, its recompressed copy a repost', async (t) => {
  if (!requireShared(t) || embedder === undefined) return;
  const photo = readFileSync(join(COREL_DIR, 'images', 'wang_0420.jpg'));
  const first = await meme(photo, 'WHEN THE BUILD PASSES', 'ON THE FIRST TRY');
  const a = await embedder.embed(first);
  const indexed = [{ record: record(1, 'meme-a', a), embedding: a }];
  const otherCaption = await embedder.embed(await meme(photo, 'NOBODY:', 'ME AT 3 AM REFACTORING'));
  assert.deepEqual(await judge(otherCaption, indexed), [['meme-a', 'template']]);
  const copy = await embedder.embed(await sharp(first).resize(384).jpeg({ quality: 62 }).toBuffer());
  assert.deepEqual(await judge(copy, indexed), [['meme-a', 'repost']]);
});
