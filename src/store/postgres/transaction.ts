/** One transaction on a connection: BEGIN, `task`, COMMIT; ROLLBACK (and rethrow) if the task fails. */
import type { PoolClient } from 'pg';

export async function inTransaction<T>(client: PoolClient, task: (client: PoolClient) => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await task(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
