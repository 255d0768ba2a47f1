/**
 * `npm run embedder`: the embedding HTTP service for GPU (or big CPU) hosts.
 * Host/port: EMBEDDER_HOST / EMBEDDER_PORT; auth: EMBEDDER_TOKEN; body limit: EMBEDDER_MAX_BODY_BYTES.
 */
import { getConfig } from '../../config.ts';
import { describeError } from '../../errors.ts';
import { childLogger } from '../../logger.ts';
import { createEmbedder, embedderOptionsFromConfig } from '../index.ts';
import { createEmbeddingServer } from './server.ts';

const log = childLogger('embedder-server');

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

async function main(): Promise<void> {
  const config = getConfig();
  if (config.EMBEDDER_TOKEN === undefined && !isLoopback(config.EMBEDDER_HOST)) {
    throw new Error(`EMBEDDER_HOST=${config.EMBEDDER_HOST} is reachable from other machines: set EMBEDDER_TOKEN too`);
  }
  // This process IS the embedder: never forward to EMBEDDER_URL.
  const embedder = await createEmbedder({ ...embedderOptionsFromConfig(config), embedderUrls: [] });
  const service = createEmbeddingServer({
    embedder,
    token: config.EMBEDDER_TOKEN,
    maxBodyBytes: config.EMBEDDER_MAX_BODY_BYTES,
    host: config.EMBEDDER_HOST,
    port: config.EMBEDDER_PORT,
  });
  const url = await service.listen();
  log.info({ url, backend: embedder.backend, variant: embedder.variant, auth: config.EMBEDDER_TOKEN !== undefined }, `embedder listening on ${url}`);
  const stop = (signal: string): void => {
    log.info({ signal }, 'embedder shutting down');
    void service
      .close()
      .then(() => embedder.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, describeError(error));
  console.error(describeError(error));
  process.exit(1);
});
