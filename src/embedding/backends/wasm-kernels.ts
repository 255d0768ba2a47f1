/**
 * Speed-ups for the wasm backend, found by profiling EfficientNet-B0 (tf.profile, per kernel):
 * wasm's Mean transposes NHWC to put the reduced axes last before summing, and the 16 squeeze-excite blocks
 * each take a spatial Mean. A spatial mean is a global average pool, which XNNPACK does without the
 * transpose; so Mean over axes [1, 2] of a 4-D tensor is routed to the wasm AvgPool kernel.
 * Results agree with the original kernel to float rounding (checked in test/embedding/model.test.ts).
 */
import { getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

let installed = false;

export function installWasmKernelOverrides(): void {
  if (installed) return;
  const mean = getKernel('Mean', 'wasm');
  const avgPool = getKernel('AvgPool', 'wasm');
  if (mean === undefined || avgPool === undefined) return;
  installed = true;

  const spatialMean: KernelFunc = (args) => {
    const x = args.inputs.x as TensorInfo | undefined;
    const attrs = args.attrs as NamedAttrMap & { axis: number | number[]; keepDims: boolean };
    if (x === undefined || x.shape.length !== 4 || x.dtype !== 'float32') return mean.kernelFunc(args);
    const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
    if (axes.length !== 2 || axes[0] !== 1 || axes[1] !== 2) return mean.kernelFunc(args);
    const [batch, height, width, channels] = x.shape as [number, number, number, number];
    const pooled = avgPool.kernelFunc({
      ...args,
      attrs: { filterSize: [height, width], strides: [height, width], pad: 'valid', dimRoundingMode: undefined } as unknown as NamedAttrMap,
    }) as TensorInfo;
    // Same data, shape [N,1,1,C] or [N,C]: the wasm kernels reshape outputs this way themselves.
    (pooled as { shape: number[] }).shape = attrs.keepDims ? [batch, 1, 1, channels] : [batch, channels];
    return pooled;
  };

  const config: KernelConfig = { kernelName: 'Mean', backendName: 'wasm', kernelFunc: spatialMean };
  if (mean.setupFunc !== undefined) config.setupFunc = mean.setupFunc;
  unregisterKernel('Mean', 'wasm');
  registerKernel(config);
}
