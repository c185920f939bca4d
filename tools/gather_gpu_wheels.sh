#!/usr/bin/env bash
# Gathers into .whl/ (ignored by git) what tools/gpu_report.sh installs on the GPU machine, which has no network:
# the default install's MMCV (built without ops: pure Python, the same wheel for every torch and Python) under the
# cache key of the image's stack, the MMCV_OPS=compiled CUDA wheel for that stack where one was built (the report's
# comparison of the two kinds of ops needs it), and requirements.txt's packages with their dependencies that the
# image lacks, as CPython 3.12 manylinux wheels. docs/benchmarks.md ("GPU") lists them.
#
#   bash tools/gather_gpu_wheels.sh     # after any make install (the no-ops wheel); for the compiled one, first:
#                                       # FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0a bash tools/check_system_torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE_STACK=${IMAGE_STACK:-mmcv-2.1.0-torch2.11.0-cp312}  # torch and Python of the GPU image
COMPILED_KEY=${COMPILED_KEY:-$IMAGE_STACK-cu130-sm90a}
MMCV_CACHE=${MMCV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ade20k-seg/mmcv-wheels}
# requirements.txt's and tests/requirements.txt's packages, and theirs, that the image (device KINDS.md) does not
# hold; the image's own cover the rest (numpy, scipy, matplotlib, opencv-python-headless, tensorboard, timm ...)
# (setuptools<82: pkg_resources, which MMEngine imports; pytest<9: tests/requirements.txt's pin, which `make install`
# asks for and the image's newer pytest does not meet)
MISSING=(mmengine==0.10.7 mmsegmentation==1.2.2 mmdet==3.3.0 mmpretrain==1.2.0 addict yapf platformdirs termcolor
         ftfy wcwidth prettytable pycocotools shapely terminaltables mat4py modelindex model-index ordered-set
         importlib-metadata lazy-importer submitit "setuptools<82" "pytest<9"
         onnx==1.23.2 onnxruntime==1.32.0 ml_dtypes protobuf flatbuffers coloredlogs humanfriendly)
noops=$(ls "$MMCV_CACHE"/mmcv-2.1.0-*-noops/mmcv-*.whl 2>/dev/null | head -n1 || true)
[ -n "$noops" ] || { echo "no MMCV wheel without ops in $MMCV_CACHE: run make install first" >&2; exit 1; }
rm -rf .whl && mkdir -p ".whl/mmcv-cache/$IMAGE_STACK-noops"
cp "$noops" ".whl/mmcv-cache/$IMAGE_STACK-noops/"
if ls "$MMCV_CACHE/$COMPILED_KEY"/mmcv-*.whl >/dev/null 2>&1; then
    mkdir -p ".whl/mmcv-cache/$COMPILED_KEY" && cp "$MMCV_CACHE/$COMPILED_KEY"/mmcv-*.whl ".whl/mmcv-cache/$COMPILED_KEY/"
else
    echo "no compiled wheel $COMPILED_KEY: the report will train on the pure-PyTorch ops and skip the comparison" >&2
fi
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl "${MISSING[@]}"
du -ab .whl | sort -k2 | awk '{printf "%8.2f MiB  %s\n", $1 / 1048576, $2}'
