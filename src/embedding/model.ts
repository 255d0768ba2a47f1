/**
 * Loads EfficientNet-B0 as a TF.js graph model from a folder and runs it.
 *
 * Without tfjs-node there is no file:// IO handler, so the folder is read here (model.json + shards) and
 * handed to `tf.io.fromMemory`. When the folder holds the pinned model (model.json's sha256 matches),
 * every shard is verified too; a missing or corrupt file is a ModelError naming the file and the fix.
 *
 * Works with the original classifier graph and with any graph containing the top activation node
 * (e.g. a notop/avgpool conversion): we always run `top_activation/mul` ([N,7,7,1280] for 224² input)
 * and pool it ourselves, which equals `top_pool/Mean` and leaves room for other poolings (GeM).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { ModelError } from '../errors.ts';
import { MODEL_FIX, PINNED_MODEL_FILES, PINNED_MODEL_JSON_SHA256, sha256Hex } from './pinned-model.ts';
import { EMBEDDING_DIMENSIONS, INPUT_SIZE } from './types.ts';
import { l2Normalise } from './vectors.ts';

export { INPUT_SIZE, l2Normalise };

/** Swish-activated output of the last 1×1 conv: [N, 7, 7, 1280] for a 224×224 input. */
export const ACTIVATION_NODE = 'StatefulPartitionedCall/model/top_activation/mul';
/** The graph's own global average pool: [N, 1280]. Used by tests to check our pooling. */
export const POOL_NODE = 'StatefulPartitionedCall/model/top_pool/Mean';

interface WeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
  modelTopology?: { node?: Array<{ name: string }> };
  weightsManifest?: WeightGroup[];
}

export interface LoadedModel {
  graph: GraphModel;
  folder: string;
  /** True when model.json is the pinned one (and therefore every shard was sha256-checked). */
  pinned: boolean;
}

/** Reads and validates a graph-model folder into memory. Pure IO, no TF.js: usable before a backend exists. */
export async function readModelArtifacts(folder: string): Promise<{ artifacts: tf.io.ModelArtifacts; pinned: boolean }> {
  const modelJsonPath = join(folder, 'model.json');
  if (!existsSync(modelJsonPath)) {
    throw new ModelError('MODEL_MISSING', `model file ${modelJsonPath} is missing; ${MODEL_FIX}`, { file: modelJsonPath });
  }
  const modelJsonBytes = await readFile(modelJsonPath);
  const pinned = sha256Hex(modelJsonBytes) === PINNED_MODEL_JSON_SHA256;
  let modelJson: ModelJson;
  try {
    modelJson = JSON.parse(modelJsonBytes.toString('utf8')) as ModelJson;
  } catch (error) {
    throw new ModelError('MODEL_CORRUPT', `model file ${modelJsonPath} is not valid JSON; ${MODEL_FIX}`, { file: modelJsonPath }, { cause: error });
  }
  const groups = modelJson.weightsManifest;
  const nodes = modelJson.modelTopology?.node;
  if (modelJson.format !== 'graph-model' || !Array.isArray(groups) || !Array.isArray(nodes)) {
    throw new ModelError('MODEL_CORRUPT', `model file ${modelJsonPath} is not a TF.js graph model; ${MODEL_FIX}`, { file: modelJsonPath });
  }
  if (!nodes.some((node) => node.name === ACTIVATION_NODE)) {
    throw new ModelError('MODEL_CORRUPT', `model ${modelJsonPath} has no node ${ACTIVATION_NODE}: not an EfficientNet-B0 graph; ${MODEL_FIX}`, {
      file: modelJsonPath,
    });
  }

  const shards: Buffer[] = [];
  for (const group of groups) {
    for (const shardName of group.paths) {
      const shardPath = join(folder, shardName);
      if (!existsSync(shardPath)) {
        throw new ModelError('MODEL_MISSING', `model file ${shardPath} is missing; ${MODEL_FIX}`, { file: shardPath });
      }
      const bytes = await readFile(shardPath);
      const expected = pinned ? PINNED_MODEL_FILES[shardName] : undefined;
      if (pinned && (expected === undefined || expected.bytes !== bytes.length || expected.sha256 !== sha256Hex(bytes))) {
        throw new ModelError('MODEL_CORRUPT', `model file ${shardPath} is corrupt (sha256 mismatch); ${MODEL_FIX}`, { file: shardPath });
      }
      shards.push(bytes);
    }
  }
  const weightSpecs = groups.flatMap((group) => group.weights);
  const weightData = concatenate(shards);
  const expectedBytes = plainWeightBytes(weightSpecs);
  if (expectedBytes !== undefined && weightData.byteLength !== expectedBytes) {
    throw new ModelError('MODEL_CORRUPT', `model shards in ${folder} hold ${weightData.byteLength} bytes, model.json expects ${expectedBytes}; ${MODEL_FIX}`, {
      file: folder,
    });
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: withoutInputBroadcasts(modelJson.modelTopology as { node: GraphNode[] }),
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy ?? null,
    signature: modelJson.signature,
    weightSpecs,
    weightData,
  };
  return { artifacts, pinned };
}

/** Loads the graph model onto the current TF.js backend (call after `tf.setBackend`). */
export async function loadModel(folder: string): Promise<LoadedModel> {
  const { artifacts, pinned } = await readModelArtifacts(folder);
  const graph = await loadGraphModel(tf.io.fromMemory(artifacts));
  return { graph, folder, pinned };
}

/**
 * Runs the network up to the top activation. `input` is NHWC float32 in [0,1] (normalisation is in-graph).
 * Returns [N, h, w, 1280]; the caller disposes it.
 */
export function runActivationMap(model: LoadedModel, input: tf.Tensor4D): tf.Tensor4D {
  return model.graph.execute(input, ACTIVATION_NODE) as tf.Tensor4D;
}

/** Runs an arbitrary node (tests compare against POOL_NODE). The caller disposes the result. */
export function runNode(model: LoadedModel, input: tf.Tensor4D, node: string): tf.Tensor {
  return model.graph.execute(input, node) as tf.Tensor;
}

/**
 * Global average pool then L2 normalisation of a flat [N, positions, channels] activation map, in float64
 * accumulators (exactly as top_pool/Mean up to float rounding). Returns one vector per image.
 */
export function averagePoolL2(activations: Float32Array, count: number, channels = EMBEDDING_DIMENSIONS): Float32Array[] {
  const positions = activations.length / (count * channels);
  if (!Number.isInteger(positions)) throw new Error(`activation map of ${activations.length} values does not split into ${count}×?×${channels}`);
  const vectors: Float32Array[] = [];
  const sums = new Float64Array(channels);
  for (let image = 0; image < count; image += 1) {
    sums.fill(0);
    const base = image * positions * channels;
    for (let position = 0; position < positions; position += 1) {
      const offset = base + position * channels;
      for (let channel = 0; channel < channels; channel += 1) sums[channel]! += activations[offset + channel]!;
    }
    vectors.push(l2Normalise(sums, positions));
  }
  return vectors;
}

/** Embeds a batch of preprocessed 224×224×3 float inputs (concatenated) into unit vectors. */
export async function embedPreprocessed(model: LoadedModel, pixels: Float32Array, count: number): Promise<Float32Array[]> {
  const input = tf.tensor4d(pixels, [count, INPUT_SIZE, INPUT_SIZE, 3], 'float32');
  try {
    const activation = runActivationMap(model, input);
    try {
      const data = (await activation.data()) as Float32Array;
      return averagePoolL2(data, count, activation.shape[3]);
    } finally {
      activation.dispose();
    }
  } finally {
    input.dispose();
  }
}

interface GraphNode {
  name: string;
  op: string;
  input?: string[];
}

/**
 * The graph normalises its input with `(x·255 − BroadcastTo(mean, shape(x))) / BroadcastTo(std, shape(x))`.
 * BroadcastTo materialises two input-sized tensors (the wasm Tile kernel: ~14 % of inference time);
 * Sub and RealDiv broadcast a [1,1,3] constant by themselves, so they are pointed at the constants directly.
 * Same arithmetic, same results; the BroadcastTo nodes become dead and never run.
 */
export function withoutInputBroadcasts(topology: { node: GraphNode[] }): { node: GraphNode[] } {
  const byName = new Map(topology.node.map((node) => [node.name, node]));
  const node = topology.node.map((current) => {
    if (current.input === undefined) return current;
    const input = current.input.map((name) => {
      const source = byName.get(name);
      const constant = source?.op === 'BroadcastTo' ? source.input?.[0] : undefined;
      const isConstant = constant !== undefined && byName.get(constant)?.op === 'Const';
      return isConstant && (current.op === 'Sub' || current.op === 'RealDiv') ? constant : name;
    });
    return { ...current, input };
  });
  return { ...topology, node };
}

/** Byte size the manifest expects, when every weight is plain float32/int32 (else undefined: TF.js checks). */
function plainWeightBytes(specs: tf.io.WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const spec of specs) {
    if (spec.quantization !== undefined || (spec.dtype !== 'float32' && spec.dtype !== 'int32')) return undefined;
    total += spec.shape.reduce((product, dimension) => product * dimension, 1) * 4;
  }
  return total;
}

function concatenate(buffers: Buffer[]): ArrayBuffer {
  const total = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const buffer of buffers) {
    out.set(buffer, offset);
    offset += buffer.length;
  }
  return out.buffer;
}
