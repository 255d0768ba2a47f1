/**
 * Real Redis and PostgreSQL for the tests that need them. `.ci/run` always starts both and exports
 * TEST_REDIS_URL / TEST_POSTGRES_URL; elsewhere `source .ci/services.sh && start_services` does. Without
 * them those tests skip with a visible reason.
 */
import type { TestContext } from 'node:test';

export type TestServer = 'TEST_REDIS_URL' | 'TEST_POSTGRES_URL';

/** The server's URL, or undefined after skipping the test visibly. */
export function requireServer(t: TestContext, variable: TestServer): string | undefined {
  const url = process.env[variable];
  if (url !== undefined && url !== '') return url;
  const reason = `SKIPPED: ${variable} is not set (source .ci/services.sh && start_services)`;
  console.warn(reason);
  t.skip(reason);
  return undefined;
}
