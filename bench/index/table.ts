/** Cells of the printed tables (console.table), so every section rounds the same way. */

export type TableRow = Record<string, string | number>;

export const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;
export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
/** Two latencies in one cell ("p50 / p99"); a missing one reads 0. */
export const msPair = (a: number | undefined, b: number | undefined): string => `${ms(a ?? 0)} / ${ms(b ?? 0)}`;
/** A recall and its 95% interval. */
export const withInterval = (value: number, interval: number): string => `${value.toFixed(3)} ± ${interval.toFixed(3)}`;
