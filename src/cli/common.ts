/** Helpers shared by the CLI subcommands: embedder creation, JSON output, progress on stderr. */
import { getConfig } from '../config.ts';
import { createEmbedder, embedderOptionsFromConfig, type Embedder } from '../embedding/index.ts';
import type { ImageRecord } from '../store/types.ts';

/** Guild of the images the CLI indexes and queries when no --guild is given (a folder is not a Discord server). */
export const DEFAULT_CLI_GUILD = 'local';

/** Images per worker below which starting worker threads costs more than it saves. */
const IMAGES_PER_WORKER = 16;

/**
 * The configured embedder, sized for the job: a handful of images runs in-thread (instant start),
 * a large job gets the full worker pool.
 */
export async function createCliEmbedder(expectedImages: number): Promise<Embedder> {
  const options = embedderOptionsFromConfig(getConfig());
  const useful = Math.ceil(expectedImages / IMAGES_PER_WORKER);
  const workers = useful <= 1 ? 0 : Math.min(options.workers, useful);
  return createEmbedder({ ...options, workers });
}

/** What a record is called in the output: its file path for CLI-indexed images, else its label. */
export function pathOf(record: ImageRecord): string {
  return record.kind === 'file' ? record.sourceKey : record.label;
}

/** Writes to stdout and waits until it is flushed (large outputs piped into another program). */
export function writeStdout(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** A progress bar on stderr, drawn only when stderr is a terminal (logs stay clean when redirected). */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly started = performance.now();
  private readonly enabled: boolean;

  constructor(
    private readonly total: number,
    private readonly label: string,
  ) {
    this.enabled = process.stderr.isTTY === true && total > 1;
  }

  tick(count = 1): void {
    this.done += count;
    const now = performance.now();
    if (!this.enabled || (now - this.lastDraw < 100 && this.done < this.total)) return;
    this.lastDraw = now;
    const width = 30;
    const filled = Math.round((width * this.done) / Math.max(1, this.total));
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${rate.toFixed(1)}/s `);
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}
