/** The bench's sections in order, each given the options it reads; flags and defaults: bench/index.ts. */
import { D, realEmbeddings, SHARED } from './data.ts';
import { crossover } from './crossover.ts';
import { manyGuilds } from './guilds.ts';
import { parseInvocation } from './options.ts';
import { pgManyGuilds } from './pg-guilds.ts';
import { postgresScale } from './pg-scale.ts';
import { projectionRecall } from './projection.ts';
import { realism } from './realism.ts';
import { scale } from './scale.ts';
import { runChild } from './scale-child.ts';
import { sweep } from './sweep.ts';

/**
 * `args`: the command line after the script. `entry`: the script itself, which the scale section starts
 * its build and load children through (they arrive here as `--build-child` / `--load-child`).
 */
export async function main(args: readonly string[], entry: string): Promise<void> {
  const invocation = parseInvocation(args, process.env);
  if (invocation.kind === 'child') return runChild(invocation.job);
  const { options } = invocation;
  const reals = await realEmbeddings();
  console.log(
    `real embeddings: ${reals.length / D} photos from ${SHARED}/datasets; generated vectors (bench/index-vectors.ts) = w·real_a + (1-w)·real_b + noise, ` +
      `unit length; noise shaped by the photos' covariance ("real", default) or isotropic ("hard"); sections other than scale use ${options.generator}`,
  );
  // No --only runs every section but projection; --only SECTION runs the sections listed under that name.
  const runs = (...names: string[]): boolean => options.only === undefined || names.includes(options.only);
  const postgres = options.store === 'postgres';
  if (runs('realism')) realism(reals);
  if (runs('crossover')) crossover(reals, options.generator);
  if (runs('sweep')) sweep(reals, options.generator, options.sweepSize);
  console.log(`sizes: ${options.sizes.join(', ')}${postgres ? ' (hnswlib and PostgreSQL)' : ''}`);
  if (runs('scale')) scale(options.sizes, options.scale, entry);
  if (options.only === 'projection') projectionRecall(reals, options.generator, options.sizes[0] ?? 200_000);
  if (postgres && runs('scale', 'postgres')) await postgresScale(reals, options.sizes, options.generator, options.postgres);
  if (runs('guilds')) await manyGuilds(reals, options.generator, options.guilds, options.perGuild);
  if (postgres && runs('guilds', 'postgres-guilds')) await pgManyGuilds(reals, options.generator, options.guilds, options.perGuild, options.postgres);
}
