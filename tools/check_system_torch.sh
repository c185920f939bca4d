#!/usr/bin/env bash
# SYSTEM_TORCH=1 against a torch other than requirements.txt's, as on a GPU image that brings its own: a Python
# 3.12 venv holding torch 2.11.0 (the GPU machine's stack), then the MMCV_OPS=compiled install into a venv of its own
# from that Python (itself a venv, as there), MMCV's compiled ops, and a --smoke training of psanet (PSAMask) and fcn:
# the compiled wheel tools/gpu_report.sh compares the default pure-PyTorch ops with.
#
#   bash tools/check_system_torch.sh                          # CPU ops (built once, then cached)
#   FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=9.0a bash tools/check_system_torch.sh   # the GPU image's CUDA build (sm_90a):
#                                        58 min cold on 2 cores, 99 s with the wheel cached (docs/benchmarks.md)
#
# Variables: IMAGE_DIR (default /tmp/image-stack: the two venvs and the runs), PYTHON312 (default pyenv's 3.12),
# IMAGE_TORCH / IMAGE_TORCHVISION (default 2.11.0 / 0.26.0). The MMCV wheel lands in the install's cache
# (~/.cache/ade20k-seg/mmcv-wheels/mmcv-2.1.0-torch2.11.0-cp312-<ops>/), where tools/gather_gpu_wheels.sh takes it.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE_DIR=${IMAGE_DIR:-/tmp/image-stack}
PYTHON312=${PYTHON312:-$(pyenv root 2>/dev/null)/versions/3.12.1/bin/python3.12}
IMAGE_TORCH=${IMAGE_TORCH:-2.11.0}
IMAGE_TORCHVISION=${IMAGE_TORCHVISION:-0.26.0}
started=$(date +%s)
mkdir -p "$IMAGE_DIR"

echo "==> the image's Python: $PYTHON312 with torch $IMAGE_TORCH in $IMAGE_DIR/image-venv"
if [ ! -x "$IMAGE_DIR/image-venv/bin/python" ]; then
    "$PYTHON312" -m venv "$IMAGE_DIR/image-venv"
fi
# as the image has them: torch and torchvision, setuptools (its distutils shim is what MMEngine needs on 3.12)
"$IMAGE_DIR/image-venv/bin/python" -m pip install -q --disable-pip-version-check "torch==$IMAGE_TORCH" \
    "torchvision==$IMAGE_TORCHVISION" setuptools 2> >(grep -v "^WARNING: Location" >&2)

echo "==> SYSTEM_TORCH=1 MMCV_OPS=compiled install into $IMAGE_DIR/venv ${FORCE_CUDA:+(FORCE_CUDA=1, arch ${TORCH_CUDA_ARCH_LIST:-})}"
VENV="$IMAGE_DIR/venv" MMCV_OPS=compiled SYSTEM_TORCH=1 PYTHON="$IMAGE_DIR/image-venv/bin/python" bash tools/install.sh
installed=$(date +%s)

echo "==> MMCV's ops"
"$IMAGE_DIR/venv/bin/python" -m training.install.check --report
"$IMAGE_DIR/venv/bin/python" -m training.install.check --verify "$([ "${FORCE_CUDA:-0}" = 1 ] && echo cuda || echo cpu)"

for model in psanet fcn; do
    echo "==> train_$model.py --smoke"
    rm -rf "$IMAGE_DIR/$model"
    "$IMAGE_DIR/venv/bin/python" "train_$model.py" --smoke --work-dir "$IMAGE_DIR/$model" | tail -n 1
done
echo "==> done: install $((installed - started)) s, all $(($(date +%s) - started)) s"
