#!/usr/bin/env bash
# `npm run gpu:check`: the GPU host check, one script, well under 5 minutes.
#  1. what the machine offers (nvidia-smi, CUDA 12 / cuDNN 9 libraries, the ORT CUDA provider);
#  2. bench:embed on ONNX Runtime CUDA (batches 64 and 32) beside ORT CPU and the wasm baselines,
#     on a small image count so that the CPU baselines stay short.
# Run `npm run gpu:install` first. A CUDA start failure is logged and the rows then name the CPU provider.
set -uo pipefail
cd "$(dirname "$0")/.."
IMAGES="${GPU_CHECK_IMAGES:-192}"

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi not available"
echo "== libraries"
for lib in libcuda.so.1 libcudart.so.12 libcublasLt.so.12 libcudnn.so.9; do
  if ldconfig -p 2>/dev/null | grep -q "$lib" || { [ -n "${LD_LIBRARY_PATH:-}" ] && ls ${LD_LIBRARY_PATH//:/ } 2>/dev/null | grep -q "^$lib"; }; then
    echo "found   $lib"
  else
    echo "MISSING $lib"
  fi
done
provider=$(node -e "const p=require('path');console.log(p.join(p.dirname(require.resolve('onnxruntime-node')),'..','bin','napi-v6',process.platform,process.arch,'libonnxruntime_providers_cuda.so'))")
if [ -f "$provider" ]; then echo "found   $provider"; else echo "MISSING $provider (run npm run gpu:install)"; fi

echo "== bench:embed --backend ort-cuda ($IMAGES images)"
LOG_LEVEL="${LOG_LEVEL:-warn}" timeout 270 node --import tsx bench/embed.ts --backend ort-cuda --images "$IMAGES"
status=$?
[ "$status" -eq 124 ] && echo "bench:embed stopped after 270 s"
exit "$status"
