/**
 * `dejavu jobs`: the shared job queue of a multi-process deployment (BullMQ on REDIS_URL), from any machine.
 *   dejavu jobs [--json]                              counts and the dead-letter list
 *   dejavu jobs retry <jobId>                         queues a dead letter again with fresh attempts
 *   dejavu jobs backfill|reembed|resign <guildId> <channelId> [--restart]   queues a channel job; a running bot runs it
 * stdout (--json): `{"counts":{waiting,active,delayed,failed,completed},"deadLetters":[{id,job,attempts,failedAt,reason}]}`.
 */
import { parseArgs } from 'node:util';
import { getConfig } from '../../config.ts';
import { BullJobQueue } from '../../services/jobs/bullmq.ts';
import { bullOptions } from '../../services/jobs/index.ts';
import { channelJobSchema } from '../../services/jobs/types.ts';
import { writeStdout } from '../common.ts';
import type { CliCommand } from '../types.ts';

const HELP = `usage: dejavu jobs [--json]
       dejavu jobs retry <jobId>
       dejavu jobs backfill <guildId> <channelId> [--restart]
       dejavu jobs reembed <guildId> <channelId>
       dejavu jobs resign <guildId> <channelId>

The job queue shared by every bot process (needs REDIS_URL; without it, jobs live inside the one bot
process). Without a subcommand: job counts and the dead-letter list (jobs that failed every attempt).
A queued backfill or re-embedding is run by any running bot; \`reembed\` forgets the channel's images
and indexes its history again; \`resign\` gives the channel's images stored with an older duplicate
signature a current one (bots also queue it at startup for every channel that needs it).`;

export const command: CliCommand = {
  name: 'jobs',
  summary: 'backfill / re-embedding / re-signing job queue: counts, dead letters, retry, enqueue',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: 'boolean', default: false }, restart: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    });
    const [action, ...rest] = positionals;
    if (values.help === true) {
      console.error(HELP);
      return 0;
    }
    const config = getConfig();
    if (config.REDIS_URL === undefined) {
      console.error('dejavu jobs: REDIS_URL is not set. Without it the bot runs jobs in its own process and keeps no shared queue.');
      return 2;
    }
    const queue = await new BullJobQueue(undefined, bullOptions(config, config.REDIS_URL)).ready();
    try {
      if (action === undefined) {
        const [counts, deadLetters] = await Promise.all([queue.counts(), queue.deadLetters()]);
        if (values.json) {
          await writeStdout(`${JSON.stringify({ counts, deadLetters })}\n`);
        } else {
          const lines = Object.entries(counts).map(([state, count]) => `${state}\t${count}`);
          for (const letter of deadLetters) {
            const when = letter.failedAt === null ? '-' : new Date(letter.failedAt).toISOString();
            lines.push(`dead\t${letter.id}\t${letter.job.kind}\t${letter.job.guildId}\t${letter.job.channelId}\t${letter.attempts} attempts\t${when}\t${letter.reason}`);
          }
          await writeStdout(`${lines.join('\n')}\n`);
        }
        return 0;
      }
      if (action === 'retry' && rest.length === 1) {
        const retried = await queue.retryDeadLetter(rest[0] ?? '');
        if (!retried) {
          console.error(`dejavu jobs: no dead letter with id ${rest[0]}`);
          return 1;
        }
        await writeStdout(`queued again\t${rest[0]}\n`);
        return 0;
      }
      if ((action === 'backfill' || action === 'reembed' || action === 'resign') && rest.length === 2) {
        const job = channelJobSchema.safeParse({ kind: action, guildId: rest[0], channelId: rest[1], ...(values.restart ? { restart: true } : {}) });
        if (!job.success) {
          console.error(`dejavu jobs: guild and channel ids are Discord ids (digits): ${job.error.issues.map((issue) => issue.message).join('; ')}`);
          return 2;
        }
        const ticket = await queue.enqueue(job.data);
        await writeStdout(values.json ? `${JSON.stringify(ticket)}\n` : `queued\t${ticket.id}\t${action}\t${rest[0]}\t${rest[1]}\n`);
        return 0;
      }
      console.error(HELP);
      return 2;
    } finally {
      await queue.close();
    }
  },
};
