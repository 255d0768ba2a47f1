import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { activateTensorflow } from '../../src/embedding/backends/tensorflow.ts';
import { decodeImage } from '../../src/embedding/decode.ts';
import { averagePoolL2, embedPreprocessed, INPUT_SIZE, l2Normalise, loadModel, POOL_NODE, readModelArtifacts, runActivationMap, runNode } from '../../src/embedding/model.ts';
import { preprocess } from '../../src/embedding/preprocess.ts';
import { ModelError } from '../../src/errors.ts';
import { oxfordImage, requireShared, SHARED_DIR, SHARED_MODEL_DIR } from '../helpers/shared.ts';

const ORIGINAL_MODEL_DIR = join(SHARED_DIR, 'models', 'efficientnet-b0-imagenet-tfjs', 'original-graph-model');
const limits = { maxBytes: 25e6, maxPixels: 50e6, timeoutMs: 10_000 };

test('our pooled top activation equals the graph top_pool/Mean, for both model folders', async (t) => {
  if (!requireShared(t)) return;
  await activateTensorflow('wasm');
  const inputs = await Promise.all(['img_0322.jpg', 'img_0699.jpg'].map(async (name) => preprocess(await decodeImage(oxfordImage(name), limits))));
  const pixels = new Float32Array(inputs.length * INPUT_SIZE * INPUT_SIZE * 3);
  inputs.forEach((input, index) => pixels.set(input, index * input.length));

  for (const folder of [SHARED_MODEL_DIR, ORIGINAL_MODEL_DIR]) {
    const model = await loadModel(folder);
    const batch = tf.tensor4d(pixels, [inputs.length, INPUT_SIZE, INPUT_SIZE, 3]);
    const activation = runActivationMap(model, batch);
    assert.deepEqual(activation.shape, [2, 7, 7, 1280]);
    const ours = averagePoolL2((await activation.data()) as Float32Array, 2);
    const mean = (await runNode(model, batch, POOL_NODE).data()) as Float32Array;
    tf.dispose([batch, activation]);
    for (let image = 0; image < 2; image += 1) {
      const reference = l2Normalise(mean.subarray(image * 1280, (image + 1) * 1280));
      const worst = Math.max(...ours[image]!.map((value, index) => Math.abs(value - reference[index]!)));
      assert.ok(worst < 1e-6, `${folder} image ${image}: max |difference| ${worst}`);
    }
    // Batched and single inference agree.
    const single = await embedPreprocessed(model, inputs[1]!.slice(), 1);
    const worst = Math.max(...single[0]!.map((value, index) => Math.abs(value - ours[1]![index]!)));
    assert.ok(worst < 1e-5, `batch of 1 vs batch of 2 differ by ${worst}`);
    model.graph.dispose();
  }
});

test('the wasm spatial-mean override (global average pool) matches a plain mean', async () => {
  await activateTensorflow('wasm');
  const shape = [2, 14, 14, 40] as const;
  const values = Float32Array.from({ length: 2 * 14 * 14 * 40 }, (_, index) => Math.sin(index * 0.37) * 3);
  const x = tf.tensor4d(values, [...shape]);
  for (const keepDims of [false, true]) {
    const result = tf.mean(x, [1, 2], keepDims);
    assert.deepEqual(result.shape, keepDims ? [2, 1, 1, 40] : [2, 40]);
    const got = (await result.data()) as Float32Array;
    result.dispose();
    for (let image = 0; image < 2; image += 1) {
      for (let channel = 0; channel < 40; channel += 1) {
        let sum = 0;
        for (let position = 0; position < 14 * 14; position += 1) sum += values[(image * 14 * 14 + position) * 40 + channel]!;
        assert.ok(Math.abs(got[image * 40 + channel]! - sum / (14 * 14)) < 1e-5);
      }
    }
  }
  // Other reductions still take the original kernel.
  const lastAxis = tf.mean(x, 3);
  assert.deepEqual(lastAxis.shape, [2, 14, 14]);
  tf.dispose([x, lastAxis]);
});

test('a missing model folder names model.json and the fix', async () => {
  await assert.rejects(readModelArtifacts('/nonexistent/model-folder'), (error: unknown) => {
    assert.ok(error instanceof ModelError);
    assert.equal(error.code, 'MODEL_MISSING');
    assert.match(error.message, /\/nonexistent\/model-folder\/model\.json/);
    assert.match(error.message, /npm run model:fetch/);
    return true;
  });
});

test('a missing or corrupt shard of the pinned model is named', async (t) => {
  if (!requireShared(t)) return;
  // A scratch copy outside the project (the ../shared files must never be copied into it).
  const scratch = mkdtempSync(join(tmpdir(), 'dejavu-model-test-'));
  try {
    for (const name of readdirSync(ORIGINAL_MODEL_DIR)) copyFileSync(join(ORIGINAL_MODEL_DIR, name), join(scratch, name));
    const { pinned } = await readModelArtifacts(scratch);
    assert.equal(pinned, true);

    truncateSync(join(scratch, 'group1-shard3of6.bin'), 1000);
    await assert.rejects(readModelArtifacts(scratch), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'MODEL_CORRUPT');
      assert.match(error.message, /group1-shard3of6\.bin/);
      assert.match(error.message, /npm run model:fetch/);
      return true;
    });

    copyFileSync(join(ORIGINAL_MODEL_DIR, 'group1-shard3of6.bin'), join(scratch, 'group1-shard3of6.bin'));
    rmSync(join(scratch, 'group1-shard5of6.bin'));
    await assert.rejects(readModelArtifacts(scratch), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'MODEL_MISSING');
      assert.match(error.message, /group1-shard5of6\.bin is missing/);
      return true;
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
