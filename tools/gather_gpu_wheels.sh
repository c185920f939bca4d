#!/usr/bin/env bash
# Gathers into .whl/ (ignored by git) what tools/gpu_report.sh installs on the GPU machine, which has no network:
# the MMCV CUDA wheel for its stack from the install's cache, and requirements.txt's packages with their
# dependencies that its image lacks, as CPython 3.12 manylinux wheels. docs/benchmarks.md ("GPU") lists them.
#
#   bash tools/gather_gpu_wheels.sh     # after FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0a bash tools/check_system_torch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
MMCV_KEY=${MMCV_KEY:-mmcv-2.1.0-torch2.11.0-cp312-cu130-sm90a}
MMCV_CACHE=${MMCV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ade20k-seg/mmcv-wheels}
# requirements.txt's and tests/requirements.txt's packages, and theirs, that the image (device KINDS.md) does not
# hold; the image's own cover the rest (numpy, scipy, matplotlib, opencv-python-headless, tensorboard, timm ...)
# (setuptools<82: pkg_resources, which MMEngine imports; pytest<9: tests/requirements.txt's pin, which `make install`
# asks for and the image's newer pytest does not meet)
MISSING=(mmengine==0.10.7 mmsegmentation==1.2.2 mmdet==3.3.0 mmpretrain==1.2.0 addict yapf platformdirs termcolor
         ftfy wcwidth prettytable pycocotools shapely terminaltables mat4py modelindex model-index ordered-set
         importlib-metadata lazy-importer submitit "setuptools<82" "pytest<9")
rm -rf .whl && mkdir -p ".whl/mmcv-cache/$MMCV_KEY"
cp "$MMCV_CACHE/$MMCV_KEY"/mmcv-*.whl ".whl/mmcv-cache/$MMCV_KEY/"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl "${MISSING[@]}"
du -ab .whl | sort -k2 | awk '{printf "%8.2f MiB  %s\n", $1 / 1048576, $2}'
