/**
 * Converts the EfficientNet-B0 TF.js graph model to ONNX (for onnxruntime-node), op by op, in TypeScript.
 *
 * The graph is walked back from `top_activation/mul`, so only the nodes that feed the embedding are
 * converted (the classifier head, and the Shape/StridedSlice/Pack nodes of the squeeze-excite reshapes, are
 * left out). Layout: the NHWC input is transposed to NCHW once; conv filters HWIO → OIHW; depthwise filters
 * [kH,kW,C,1] → [C,1,kH,kW] with group=C; TF `SAME` padding is ONNX `SAME_UPPER` (the extra pixel at the
 * end in both); spatial `Mean`s keep their dims, which makes the squeeze-excite `Reshape` to [N,1,1,C] a
 * no-op; per-channel constants become [1,C,1,1]. The output `embedding` is the global average pool, [N,1280]
 * (not normalised: the backend divides by the L2 norm, as for every backend).
 *
 * The output is deterministic (same input files → same bytes): the pinned model's conversion is pinned by
 * sha256 (PINNED_ONNX_MODEL) and checked against the TF.js graph when the model is fetched.
 */
import onnxProto from 'onnx-proto';
import { ModelError } from '../errors.ts';
import { ACTIVATION_NODE, readModelArtifacts } from './model.ts';
import { ONNX_INPUT, ONNX_OUTPUT } from './pinned-model.ts';
import { INPUT_SIZE } from './types.ts';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

/** Opset 13: ReduceMean takes its axes as an attribute, which every ORT version supports. */
const OPSET = 13;

interface TfAttr {
  i?: string;
  f?: number;
  b?: boolean;
  s?: string;
  list?: { i?: string[]; s?: string[] };
}

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
}

interface ConstTensor {
  shape: number[];
  values: Float32Array | Int32Array;
}

export interface ConversionInput {
  nodes: TfNode[];
  weights: Map<string, ConstTensor>;
}

/** Reads a TF.js graph-model folder (model.json + shards, sha256-checked when pinned) for conversion. */
export async function readGraphForConversion(folder: string): Promise<ConversionInput> {
  const { artifacts } = await readModelArtifacts(folder);
  const topology = artifacts.modelTopology as { node: TfNode[] };
  const specs = (artifacts.weightSpecs ?? []) as WeightSpec[];
  const data = artifacts.weightData as ArrayBuffer;
  const weights = new Map<string, ConstTensor>();
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((product, dimension) => product * dimension, 1);
    if (spec.dtype !== 'float32' && spec.dtype !== 'int32') {
      throw new ModelError('MODEL_CORRUPT', `weight ${spec.name} has dtype ${spec.dtype}; only float32/int32 graphs convert to ONNX`, { file: folder });
    }
    // Copied (not viewed): shard offsets need not be 4-byte aligned in general.
    const bytes = data.slice(offset, offset + count * 4);
    weights.set(spec.name, { shape: spec.shape, values: spec.dtype === 'float32' ? new Float32Array(bytes) : new Int32Array(bytes) });
    offset += count * 4;
  }
  return { nodes: topology.node, weights };
}

/** Converts the folder's graph to ONNX model bytes. */
export async function convertToOnnx(folder: string): Promise<Uint8Array> {
  return convertGraph(await readGraphForConversion(folder));
}

/** Tensors flowing through the converted graph: activations (NCHW) or constants (kept in TF layout). */
type Value = { kind: 'activation'; name: string } | { kind: 'const'; tensor: ConstTensor };

class Converter {
  private readonly byName: Map<string, TfNode>;
  private readonly values = new Map<string, Value>();
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  /** The graph's input and output names are taken; converted nodes keep their TF names otherwise. */
  private readonly usedNames = new Set<string>([ONNX_INPUT, ONNX_OUTPUT]);

  constructor(private readonly input: ConversionInput) {
    this.byName = new Map(input.nodes.map((node) => [node.name, node]));
  }

  /** Post-order walk from `name`: every node is converted after its inputs (a topological order). */
  resolve(reference: string): Value {
    const name = reference.replace(/^\^/, '').replace(/:0$/, '');
    const known = this.values.get(name);
    if (known !== undefined) return known;
    const node = this.byName.get(name);
    if (node === undefined) throw this.error(`input ${name} is not a node of the graph`);
    const value = this.convert(node);
    this.values.set(name, value);
    return value;
  }

  private convert(node: TfNode): Value {
    const inputs = node.input ?? [];
    switch (node.op) {
      case 'Placeholder':
        return this.emit('Transpose', [ONNX_INPUT], `${node.name}/nchw`, [ints('perm', [0, 3, 1, 2])]);
      case 'Const': {
        const tensor = this.input.weights.get(node.name);
        if (tensor === undefined) throw this.error(`constant ${node.name} has no weights in the manifest`);
        return { kind: 'const', tensor };
      }
      case 'Identity':
        return this.resolve(inputs[0]!);
      case 'BroadcastTo': {
        // Only the input normalisation broadcasts, a [3] constant to the input's shape: the ONNX Sub/Div
        // broadcast the [1,3,1,1] constant themselves.
        const source = this.resolve(inputs[0]!);
        if (source.kind !== 'const') throw this.error(`BroadcastTo ${node.name} of a non-constant is not supported`);
        return source;
      }
      case 'Reshape': {
        // The squeeze-excite reshape of Mean's [N,C] to [N,1,1,C]; our Mean keeps its dims already.
        const source = this.byName.get(strip(inputs[0]!));
        if (source?.op !== 'Mean') throw this.error(`Reshape ${node.name} not fed by a Mean is not supported`);
        return this.resolve(inputs[0]!);
      }
      case 'Mean':
        return this.mean(node);
      case 'Sigmoid':
        return this.emit('Sigmoid', [this.activation(inputs[0]!, node)], node.name);
      case 'Mul':
      case 'AddV2':
      case 'Add':
      case 'Sub':
      case 'RealDiv':
        return this.binary(node);
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative':
        return this.conv(node);
      default:
        throw this.error(`op ${node.op} (node ${node.name}) has no ONNX conversion`);
    }
  }

  private mean(node: TfNode): Value {
    const axes = this.resolve(node.input![1]!);
    const axisList = axes.kind === 'const' ? Array.from(axes.tensor.values) : [];
    if (axisList.length !== 2 || axisList[0] !== 1 || axisList[1] !== 2) throw this.error(`Mean ${node.name} over axes other than [1,2]`);
    return this.emit('ReduceMean', [this.activation(node.input![0]!, node)], node.name, [ints('axes', [2, 3]), int('keepdims', 1)]);
  }

  private binary(node: TfNode): Value {
    const op = { Mul: 'Mul', AddV2: 'Add', Add: 'Add', Sub: 'Sub', RealDiv: 'Div' }[node.op]!;
    const names = node.input!.map((reference) => {
      const value = this.resolve(reference);
      if (value.kind === 'activation') return value.name;
      return this.constant(`${node.name}/${strip(reference)}`, channelsFirst(value.tensor, node.name));
    });
    return this.emit(op, names, node.name);
  }

  private conv(node: TfNode): Value {
    const [x, filterName, biasName] = node.input!;
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map(decode);
    if (fused.length !== 1 || fused[0] !== 'BiasAdd' || biasName === undefined) {
      throw this.error(`${node.op} ${node.name} fuses [${fused.join(', ')}]; only [BiasAdd] is supported`);
    }
    if (decode(node.attr?.data_format?.s ?? 'TkhXQw==') !== 'NHWC') throw this.error(`${node.name} is not NHWC`);
    const dilations = (node.attr?.dilations?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    if (dilations.some((dilation) => dilation !== 1)) throw this.error(`${node.name} has dilations ${dilations.join(',')}`);
    const strides = (node.attr?.strides?.list?.i ?? ['1', '1', '1', '1']).map(Number);
    const padding = decode(node.attr?.padding?.s ?? '');
    if (padding !== 'SAME' && padding !== 'VALID') throw this.error(`${node.name} has padding ${padding}`);

    const filter = this.constTensor(filterName!, node);
    const bias = this.constTensor(biasName, node);
    const [kH, kW, inChannels, outOrMultiplier] = filter.shape as [number, number, number, number];
    const depthwise = node.op === 'FusedDepthwiseConv2dNative';
    const weights = depthwise ? depthwiseToOihw(filter) : hwioToOihw(filter);
    const attributes: IAttributeProto[] = [
      ints('kernel_shape', [kH, kW]),
      ints('strides', [strides[1]!, strides[2]!]),
      ints('dilations', [1, 1]),
      int('group', depthwise ? inChannels : 1),
      padding === 'SAME' ? text('auto_pad', 'SAME_UPPER') : ints('pads', [0, 0, 0, 0]),
    ];
    if (depthwise && outOrMultiplier !== 1) throw this.error(`${node.name}: depthwise multiplier ${outOrMultiplier} is not supported`);
    const inputs = [this.activation(x!, node), this.constant(`${node.name}/weights`, weights), this.constant(`${node.name}/bias`, bias)];
    return this.emit('Conv', inputs, node.name, attributes);
  }

  private constTensor(reference: string, node: TfNode): ConstTensor {
    const value = this.resolve(reference);
    if (value.kind !== 'const') throw this.error(`${node.name}: input ${reference} must be a constant`);
    return value.tensor;
  }

  private activation(reference: string, node: TfNode): string {
    const value = this.resolve(reference);
    if (value.kind !== 'activation') throw this.error(`${node.name}: input ${reference} must be an activation, not a constant`);
    return value.name;
  }

  emit(opType: string, inputs: string[], name: string, attribute: IAttributeProto[] = []): Value {
    const output = this.unique(name);
    this.nodes.push({ opType, input: inputs, output: [output], name: output, attribute });
    return { kind: 'activation', name: output };
  }

  private constant(name: string, tensor: ConstTensor): string {
    const unique = this.unique(name);
    const float = tensor.values instanceof Float32Array;
    const rawData = new Uint8Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength);
    this.initializers.push({
      name: unique,
      dims: tensor.shape,
      dataType: float ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT32,
      // ONNX raw_data is little-endian, as are the TF.js shards and every host Node runs on.
      rawData: rawData.slice(),
    });
    return unique;
  }

  private unique(name: string): string {
    let candidate = name;
    for (let index = 1; this.usedNames.has(candidate); index += 1) candidate = `${name}_${index}`;
    this.usedNames.add(candidate);
    return candidate;
  }

  private error(message: string): ModelError {
    return new ModelError('MODEL_CORRUPT', `cannot convert the TF.js graph to ONNX: ${message}`, {});
  }
}

/** Converts an already-read graph. Pure: the same input gives the same bytes. */
export function convertGraph(input: ConversionInput): Uint8Array {
  const converter = new Converter(input);
  if (!input.nodes.some((node) => node.name === ACTIVATION_NODE)) {
    throw new ModelError('MODEL_CORRUPT', `cannot convert to ONNX: the graph has no node ${ACTIVATION_NODE}`, {});
  }
  const top = converter.resolve(ACTIVATION_NODE);
  if (top.kind !== 'activation') throw new ModelError('MODEL_CORRUPT', `${ACTIVATION_NODE} is a constant`, {});
  const pooled = converter.emit('GlobalAveragePool', [top.name], 'embedding/pool');
  if (pooled.kind !== 'activation') throw new Error('unreachable');
  converter.nodes.push({ opType: 'Flatten', input: [pooled.name], output: [ONNX_OUTPUT], name: ONNX_OUTPUT, attribute: [int('axis', 1)] });

  const floatType = (dims: Array<number | string>): onnxProto.onnx.ITypeProto => ({
    tensorType: {
      elemType: onnx.TensorProto.DataType.FLOAT,
      shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'dejavu onnx-convert',
    producerVersion: '1',
    graph: {
      name: 'efficientnet-b0-avgpool',
      node: converter.nodes,
      initializer: converter.initializers,
      input: [{ name: ONNX_INPUT, type: floatType(['batch', INPUT_SIZE, INPUT_SIZE, 3]) }],
      output: [{ name: ONNX_OUTPUT, type: floatType(['batch', 1280]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Conv2D filter [kH,kW,in,out] → [out,in,kH,kW]. */
function hwioToOihw(filter: ConstTensor): ConstTensor {
  const [kH, kW, inC, outC] = filter.shape as [number, number, number, number];
  const source = filter.values;
  const out = new Float32Array(source.length);
  for (let h = 0; h < kH; h += 1) {
    for (let w = 0; w < kW; w += 1) {
      for (let i = 0; i < inC; i += 1) {
        const base = ((h * kW + w) * inC + i) * outC;
        for (let o = 0; o < outC; o += 1) out[((o * inC + i) * kH + h) * kW + w] = source[base + o]!;
      }
    }
  }
  return { shape: [outC, inC, kH, kW], values: out };
}

/** Depthwise filter [kH,kW,C,1] → [C,1,kH,kW] (a grouped Conv with group=C). */
function depthwiseToOihw(filter: ConstTensor): ConstTensor {
  const [kH, kW, channels] = filter.shape as [number, number, number, number];
  const source = filter.values;
  const out = new Float32Array(source.length);
  for (let h = 0; h < kH; h += 1) {
    for (let w = 0; w < kW; w += 1) {
      for (let c = 0; c < channels; c += 1) out[(c * kH + h) * kW + w] = source[(h * kW + w) * channels + c]!;
    }
  }
  return { shape: [channels, 1, kH, kW], values: out };
}

/** A [C] constant broadcast against NCHW activations must be [1,C,1,1]; scalars stay scalars. */
function channelsFirst(tensor: ConstTensor, where: string): ConstTensor {
  const size = tensor.values.length;
  if (tensor.shape.length === 0 || size === 1) return { shape: [], values: tensor.values };
  const channelsLast = tensor.shape.slice(0, -1).every((dimension) => dimension === 1);
  if (!channelsLast) throw new ModelError('MODEL_CORRUPT', `cannot convert ${where}: constant of shape [${tensor.shape.join(',')}]`, {});
  return { shape: [1, size, 1, 1], values: tensor.values };
}

function strip(reference: string): string {
  return reference.replace(/^\^/, '').replace(/:0$/, '');
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}

function int(name: string, value: number): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function ints(name: string, value: number[]): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
}

function text(name: string, value: string): IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) };
}
