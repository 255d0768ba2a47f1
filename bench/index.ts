/**
 * `npm run bench:index [-- --full] [-- --sizes 10000,100000]`: vector index and store benchmark.
 *
 * Data: real EfficientNet-B0 embeddings of ../shared/datasets (embedded once, cached in data/bench-cache),
 * expanded to N vectors as w·real_a + (1−w)·real_b + noise, re-normalised (bench/index-vectors.ts): `real`
 * noise is shaped by the photos' covariance (default), `hard` is isotropic (`--generator real|hard`; the
 * scale section runs both unless told). Queries are fresh vectors drawn the same way. Recall@10 is
 * measured against an exact brute-force scan of the same vectors.
 *
 * Scale (`--only scale [--sizes 100000] [--index hnsw,pca-hnsw] [--generator real,hard]`): one guild per
 * index kind and generator, built and loaded in child processes; the snapshot is evicted from the page
 * cache before the load (`--loads 3`: three fresh loads, medians shown; `--keep` leaves the snapshot). `--only realism`: the generators against held-out photos. `--only projection
 * --sizes 200000`: recall lost by the PCA projection alone (no graph), by candidates re-ranked.
 *
 * Sections: generator realism, exact-vs-HNSW crossover (picks EXACT_SEARCH_MAX_IMAGES), HNSW parameter sweep at 10k (picks
 * HNSW_DEFAULTS), one-guild scale runs (each size and each load in a fresh child process so RSS is clean),
 * many small guilds through the real store with LRU eviction. `--full` adds 1M and 1000 guilds × 1000.
 *
 * `--store postgres` adds the PostgreSQL + pgvector store beside hnswlib for the same sizes (`--only postgres`
 * runs it alone): bulk load + CREATE INDEX time, store.add latency, recall@10 / p50 / p99 at ef_search
 * 40/100/200 (`--pg-ef 100,400`), filtered queries (10% of channels visible, at the largest ef), exact scan,
 * table and index size, halfvec and vector (`--pg-types`); `--pg-m` / `--pg-ef-construction` override the
 * store's HNSW build settings (`--pg-reduced-m` / `--pg-reduced-ef-construction` those of the points'
 * graph). Then the guild is made ready for reduced search (the store's own job: projection fit + points,
 * timed; the points' HNSW index built after them) and searched at ef_search ×
 * re-ranked candidates (`--pg-rerank 128,256`). `--pg-searches full,reduced` picks what is built and
 * measured (at 1M the full-vector CREATE INDEX alone takes ~26 min); `--pg-keep` keeps the schema and
 * `--pg-reuse SCHEMA` searches it again (and times 200 adds into it) without building anything. Each timed
 * pass follows untimed searches with 200 other queries (`--pg-warmup N`), so no setting pays for a cold page
 * cache. Database: --database-url, TEST_POSTGRES_URL or DATABASE_URL; a schema per run, dropped after. The
 * server's shared_buffers is printed: results depend on whether the HNSW index fits.
 */
import { main } from './index/main.ts';

await main(process.argv.slice(2), import.meta.filename);
