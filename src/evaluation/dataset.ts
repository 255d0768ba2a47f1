/**
 * Evaluation datasets (see ../shared/datasets/*\/README.md). Two kinds, told apart by groups.json:
 * - category sets (`group_names` present): every image of a group is relevant to every other one;
 * - near-duplicate sets (`distractors` present): each group is an original followed by its edited copies.
 *   A set may list further non-duplicates instead (`same_template_not_duplicates`: pairs of memes on one picture
 *   with different captions; `screenshots_not_duplicates`: screenshots of one layout): their images join the
 *   set as distractors, and the template pairs are kept so the harness can count those flagged as reposts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { DejavuError } from '../errors.ts';

export type DatasetKind = 'category' | 'near-duplicate';

export interface EvalDataset {
  name: string;
  kind: DatasetKind;
  /** Absolute image paths; every index used below refers to this array. */
  files: string[];
  /** Groups of indices into `files`. For near-duplicate sets the first index is the original (the query). */
  groups: number[][];
  /** Group index of each file, -1 for distractors. */
  groupOf: Int32Array;
  /** Edit applied to each file (near-duplicate sets with sources.json), e.g. `crop`, `rotate`, `original`. */
  editOf?: string[];
  /** Pairs of indices that share a picture under different text (same meme template): not duplicates. */
  templatePairs?: Array<[number, number]>;
}

interface GroupsFile {
  groups?: unknown;
  distractors?: unknown;
  group_names?: unknown;
  same_template_not_duplicates?: unknown;
  screenshots_not_duplicates?: unknown;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** First word of a sources.json transform, normalised to the README's edit names. */
export function editKind(transform: string): string {
  const word = transform.trim().split(/[\s,(/+]/)[0]?.toLowerCase() ?? '';
  const aliases: Record<string, string> = {
    downscale: 'recompress',
    'semi-transparent': 'watermark',
    rotate: 'rotate',
    horizontal: 'mirror',
    mirror: 'mirror',
    border: 'border',
    caption: 'caption',
    crop: 'crop',
    original: 'original',
  };
  return aliases[word] ?? (['grayscale', 'sepia', 'saturation', 'darker', 'contrast', 'modulate', 'color', 'colour'].includes(word) ? 'color' : word);
}

export function loadDataset(directory: string): EvalDataset {
  const root = resolve(directory);
  const groupsPath = join(root, 'groups.json');
  if (!existsSync(groupsPath)) {
    throw new DejavuError('INVALID_INPUT', `No groups.json in ${root}`, { directory: root });
  }
  const parsed = JSON.parse(readFileSync(groupsPath, 'utf8')) as GroupsFile;
  if (!Array.isArray(parsed.groups) || !parsed.groups.every(isStringList)) {
    throw new DejavuError('INVALID_INPUT', `groups.json in ${root} has no valid "groups" list`, { directory: root });
  }
  const nameGroups = parsed.groups as string[][];
  const distractors = isStringList(parsed.distractors) ? parsed.distractors : [];
  const kind: DatasetKind = parsed.group_names !== undefined ? 'category' : 'near-duplicate';

  const files: string[] = [];
  const indexOfName = new Map<string, number>();
  const groupIds: number[] = [];
  const add = (name: string, group: number): number => {
    const existing = indexOfName.get(name);
    if (existing !== undefined) {
      throw new DejavuError('INVALID_INPUT', `${name} is listed twice in ${groupsPath}`, { name });
    }
    indexOfName.set(name, files.length);
    files.push(join(root, 'images', name));
    groupIds.push(group);
    return files.length - 1;
  };
  const groups = nameGroups.map((names, group) => names.map((name) => add(name, group)));
  for (const name of distractors) add(name, -1);
  const templateNames = Array.isArray(parsed.same_template_not_duplicates) ? parsed.same_template_not_duplicates.filter(isStringList) : [];
  const screenshots = isStringList(parsed.screenshots_not_duplicates) ? parsed.screenshots_not_duplicates : [];
  for (const name of [...templateNames.flat(), ...screenshots]) if (!indexOfName.has(name)) add(name, -1);
  const templatePairs = templateNames.flatMap((pair): Array<[number, number]> => {
    const [first, second] = pair.map((name) => indexOfName.get(name));
    return pair.length === 2 && first !== undefined && second !== undefined ? [[first, second]] : [];
  });

  let editOf: string[] | undefined;
  const sourcesPath = join(root, 'sources.json');
  if (existsSync(sourcesPath)) {
    const sources = JSON.parse(readFileSync(sourcesPath, 'utf8')) as Record<string, { transform?: string }>;
    editOf = files.map((file) => editKind(sources[basename(file)]?.transform ?? 'unknown'));
  }
  return {
    name: basename(root),
    kind,
    files,
    groups,
    groupOf: Int32Array.from(groupIds),
    ...(editOf ? { editOf } : {}),
    ...(templatePairs.length > 0 ? { templatePairs } : {}),
  };
}
