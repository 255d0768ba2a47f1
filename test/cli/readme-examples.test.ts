/**
 * The README's CLI table is a contract: every row's command is run as written (optional `[…]` parts left
 * out, so `--data` falls back to DATA_DIR), and its JSON must have exactly the keys the row documents.
 * Rows are read from README.md itself, so a row that drifts from the code, or a new row, fails here.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { OXFORD_DIR, readOxfordGroups, requireShared } from '../helpers/shared.ts';
import { requireServer } from '../helpers/servers.ts';
import { dejavu, makePhotoFolder } from './cli-fixture.ts';

const README = resolve(import.meta.dirname, '..', '..', 'README.md');

/** A documented JSON shape: `{"key", "key"?: shape, …}`, `[shape]`, `a \| b`, or free text (anything). */
type Shape =
  | { kind: 'object'; keys: Map<string, { optional: boolean; shape: Shape }>; open: boolean }
  | { kind: 'array'; of: Shape }
  | { kind: 'union'; options: Shape[] }
  | { kind: 'any' };

interface Row {
  command: string;
  shape: Shape;
  text: string;
}

/** Parses the README's shape notation (a small recursive-descent parser over one code span). */
export function parseShape(text: string): Shape {
  let position = 0;
  const peek = (): string => text[position] ?? '';
  const skipSpaces = (): void => {
    while (/\s/.test(peek())) position += 1;
  };
  const readString = (): string => {
    const end = text.indexOf('"', position + 1);
    assert.ok(end > position, `unterminated string in ${text}`);
    const value = text.slice(position + 1, end);
    position = end + 1;
    return value;
  };
  const union = (): Shape => {
    const options = [one()];
    for (skipSpaces(); text.startsWith('\\|', position); skipSpaces()) {
      position += 2;
      options.push(one());
    }
    return options.length === 1 ? options[0]! : { kind: 'union', options };
  };
  const one = (): Shape => {
    skipSpaces();
    if (peek() === '{') return object();
    if (peek() === '[' && /^\[\s*[{[]/.test(text.slice(position))) {
      position += 1;
      const of = union();
      skipSpaces();
      assert.equal(peek(), ']', `expected ] at ${position} in ${text}`);
      position += 1;
      return { kind: 'array', of };
    }
    if (peek() === '"') {
      readString();
      return { kind: 'any' };
    }
    // Free text such as `[1280 numbers]` or `S`: up to the next separator outside brackets.
    let depth = 0;
    while (position < text.length) {
      const char = peek();
      if (char === '[') depth += 1;
      else if (char === ']' && depth > 0) depth -= 1;
      else if (depth === 0 && (char === ',' || char === '}' || char === ']' || text.startsWith('\\|', position))) break;
      position += 1;
    }
    return { kind: 'any' };
  };
  const object = (): Shape => {
    position += 1;
    const keys = new Map<string, { optional: boolean; shape: Shape }>();
    let open = false;
    for (;;) {
      skipSpaces();
      if (peek() === '}') break;
      if (peek() === '…') {
        open = true;
        position += 1;
      } else {
        assert.equal(peek(), '"', `expected a key at ${position} in ${text}`);
        const key = readString();
        const optional = peek() === '?';
        if (optional) position += 1;
        skipSpaces();
        let shape: Shape = { kind: 'any' };
        if (peek() === ':') {
          position += 1;
          shape = union();
        }
        keys.set(key, { optional, shape });
      }
      skipSpaces();
      if (peek() === ',') position += 1;
      else assert.equal(peek(), '}', `expected , or } at ${position} in ${text}`);
    }
    position += 1;
    return { kind: 'object', keys, open };
  };
  const shape = union();
  skipSpaces();
  assert.equal(position, text.length, `trailing text in ${text}`);
  return shape;
}

/** Problems of `value` against `shape`; `matched` collects the union branches that were used. */
function conformance(value: unknown, shape: Shape, path: string, matched: Set<Shape>): string[] {
  switch (shape.kind) {
    case 'any':
      return [];
    case 'array':
      if (!Array.isArray(value)) return [`${path}: expected an array`];
      return value.flatMap((item, index) => conformance(item, shape.of, `${path}[${index}]`, matched));
    case 'union': {
      const attempts = shape.options.map((option) => ({ option, problems: conformance(value, option, path, matched) }));
      const fit = attempts.find((attempt) => attempt.problems.length === 0);
      if (fit !== undefined) {
        matched.add(fit.option);
        return [];
      }
      return [`${path}: matches no documented alternative (${attempts.map((attempt) => attempt.problems.join('; ')).join(' | ')})`];
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: expected an object`];
      const record = value as Record<string, unknown>;
      const problems: string[] = [];
      for (const [key, { optional, shape: inner }] of shape.keys) {
        if (!(key in record)) {
          if (!optional) problems.push(`${path}.${key}: documented but missing`);
        } else problems.push(...conformance(record[key], inner, `${path}.${key}`, matched));
      }
      if (!shape.open) for (const key of Object.keys(record)) if (!shape.keys.has(key)) problems.push(`${path}.${key}: not documented`);
      return problems;
    }
  }
}

function unions(shape: Shape): Array<Extract<Shape, { kind: 'union' }>> {
  if (shape.kind === 'union') return [shape, ...shape.options.flatMap(unions)];
  if (shape.kind === 'array') return unions(shape.of);
  if (shape.kind === 'object') return [...shape.keys.values()].flatMap((entry) => unions(entry.shape));
  return [];
}

/** The rows of the table under "## The `dejavu` CLI": command and the first code span of its output. */
export function readCliRows(markdown: string): Row[] {
  const section = markdown.slice(markdown.indexOf('## The `dejavu` CLI'));
  const table = section.slice(0, section.indexOf('\n## '));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `dejavu '))
    .map((line) => {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const command = /^`([^`]+)`$/.exec(cells[1] ?? '')?.[1];
      const output = /`([^`]*[{[][^`]*)`/.exec(cells[2] ?? '')?.[1];
      assert.ok(command !== undefined && output !== undefined, `unreadable README row: ${line}`);
      return { command, shape: parseShape(output), text: output };
    });
}

/** The command's arguments with optional parts left out and placeholders filled in. */
function argumentsOf(command: string, placeholders: Record<string, string[]>): string[] {
  const words = command.replace(/\[[^\]]*\]…?/g, ' ').split(/\s+/).filter((word) => word !== '');
  assert.equal(words.shift(), 'dejavu');
  return words.flatMap((word) => {
    if (!word.startsWith('<')) return [word];
    const value = placeholders[word];
    assert.ok(value !== undefined, `no test value for the README placeholder ${word} in "${command}"`);
    return value;
  });
}

test('parseShape reads the README notation', () => {
  const shape = parseShape('[{"file", "vector": [1280 numbers]} \\| {"file", "error": "CODE: message", "note"?}]');
  assert.equal(shape.kind, 'array');
  const matched = new Set<Shape>();
  assert.deepEqual(conformance([{ file: 'a', vector: [1] }, { file: 'b', error: 'X: y' }], shape, '$', matched), []);
  assert.equal(matched.size, 2);
  assert.equal(conformance([{ file: 'a', path: 'b' }], shape, '$', new Set()).length, 1);
  const open = parseShape('{"a", "b"?, …}');
  assert.deepEqual(conformance({ a: 1, c: 2 }, open, '$', new Set()), []);
  assert.match(conformance({ b: 1 }, open, '$', new Set())[0] ?? '', /\$\.a: documented but missing/);
});

test('every README CLI row runs as written and prints the documented keys', async (t) => {
  if (!requireShared(t)) return;
  const rows = readCliRows(readFileSync(README, 'utf8'));
  assert.ok(rows.length >= 8, `found ${rows.length} rows`);
  const folder = makePhotoFolder();
  // A tiny near-duplicate dataset in the layout of ../shared/datasets: one group and two distractors.
  const { groups, distractors } = readOxfordGroups();
  const dataset = join(folder.root, 'tiny-neardup');
  mkdirSync(join(dataset, 'images'), { recursive: true });
  const members = [...groups[0]!.slice(0, 3), ...distractors.slice(0, 2)];
  for (const name of members) symlinkSync(join(OXFORD_DIR, 'images', name), join(dataset, 'images', name));
  writeFileSync(join(dataset, 'groups.json'), JSON.stringify({ groups: [groups[0]!.slice(0, 3)], distractors: distractors.slice(0, 2) }));
  const placeholders: Record<string, string[]> = {
    '<files…>': [folder.group[0]!, join(folder.root, 'missing.jpg')],
    '<dir>': [folder.photos],
    '<datasetDir>': [dataset],
  };
  const runId = `readme_${process.pid}_${Date.now()}`;
  try {
    for (const row of rows) {
      await t.test(row.command, async (st) => {
        const environment: Record<string, string> = { DATA_DIR: folder.dataDir };
        if (row.command.includes('postgres')) {
          const url = requireServer(st, 'TEST_POSTGRES_URL');
          if (url === undefined) return;
          Object.assign(environment, { DATABASE_URL: url, PG_SCHEMA: runId });
        }
        if (row.command.startsWith('dejavu jobs')) {
          const url = requireServer(st, 'TEST_REDIS_URL');
          if (url === undefined) return;
          Object.assign(environment, { REDIS_URL: url, REDIS_PREFIX: runId });
        }
        const { stdout } = await dejavu(argumentsOf(row.command, placeholders), folder.root, environment);
        const output: unknown = JSON.parse(stdout);
        if (Array.isArray(output)) assert.ok(output.length > 0, `${row.command}: an empty array proves nothing`);
        const matched = new Set<Shape>();
        assert.deepEqual(conformance(output, row.shape, '$', matched), [], `${row.command}\ndocumented: ${row.text}\nprinted: ${stdout.slice(0, 2000)}`);
        for (const union of unions(row.shape)) for (const option of union.options) assert.ok(matched.has(option), `${row.command}: no output took one of the documented alternatives`);
      });
    }
  } finally {
    if (process.env.TEST_POSTGRES_URL !== undefined && process.env.TEST_POSTGRES_URL !== '') {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: process.env.TEST_POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${runId} CASCADE`).finally(() => client.end());
    }
    rmSync(folder.root, { recursive: true, force: true });
  }
});
