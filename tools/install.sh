#!/usr/bin/env bash
# Installs the pinned OpenMMLab stack (requirements.txt) into .venv/, building MMCV's compiled ops.
#
#   bash tools/install.sh            # or: make install
#
# Variables:
#   PYTHON=python3.11       interpreter that creates .venv (default: python3)
#   SYSTEM_TORCH=1          keep the torch already installed for $PYTHON (e.g. a GPU image's CUDA
#                           build): .venv sees the system site-packages and torch is not reinstalled
#   MMCV_CACHE=DIR          where built MMCV wheels are kept (default: ~/.cache/ade20k-seg/mmcv-wheels)
#   FORCE_CUDA=1            build MMCV's CUDA ops even if no GPU is visible (needs nvcc)
#   TORCH_CUDA_ARCH_LIST    GPU architectures for the CUDA build, e.g. "8.0;9.0"
#   MAX_JOBS=N              parallel compile jobs for the MMCV build
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PY="$VENV/bin/python"
PYTHON=${PYTHON:-python3}
MMCV_CACHE=${MMCV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ade20k-seg/mmcv-wheels}
CURRENT_STEP=""

step() { CURRENT_STEP=$1; echo "==> [install] $1"; }
fail() {
    # one paragraph: which step, why, what to do
    echo "" >&2
    echo "install failed at step '$CURRENT_STEP': $1" >&2
    echo "Fix: $2" >&2
    exit 1
}
pin() { sed -n "s/^$1==\([^ ]*\).*/\1/p" requirements.txt; }
# pip's exit status, with the noise of this machine's unused local indexes filtered from stderr
pip_q() { "$PY" -m pip "$@" --disable-pip-version-check -q 2> >(grep -v "^WARNING: Location" >&2); }

TORCH_VERSION=$(pin torch)
TORCHVISION_VERSION=$(pin torchvision)
MMCV_VERSION=$(pin mmcv)

step "create $VENV"
if [ ! -x "$PY" ]; then
    venv_args=()
    [ "${SYSTEM_TORCH:-0}" = 1 ] && venv_args+=(--system-site-packages)
    "$PYTHON" -m venv "${venv_args[@]}" "$VENV" ||
        fail "'$PYTHON -m venv' did not work." \
             "install the venv module (Debian/Ubuntu: apt-get install python3-venv) or set PYTHON=/path/to/python3."
fi

step "torch"
if [ "${SYSTEM_TORCH:-0}" = 1 ]; then
    "$PY" -c "import torch" 2>/dev/null ||
        fail "SYSTEM_TORCH=1 but '$PYTHON' has no importable torch." \
             "unset SYSTEM_TORCH to install torch==$TORCH_VERSION, or install torch for $PYTHON first."
    echo "    keeping system torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    pip_q install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" ||
        fail "torch==$TORCH_VERSION / torchvision==$TORCHVISION_VERSION did not install (see pip's output above)." \
             "check network access to PyPI and free disk space (a CUDA torch needs ~6 GB), then rerun 'make install'."
fi

step "build tools for MMCV (setuptools<82 keeps pkg_resources, which mmcv's setup.py imports)"
pip_q install "setuptools<82" wheel ninja psutil ||
    fail "pip could not install setuptools<82, wheel, ninja, psutil." "check network access to PyPI and rerun 'make install'."

# CUDA ops exactly when MMCV's own setup.py would build them (GPU visible or FORCE_CUDA=1), and only if
# this torch is a CUDA build and nvcc exists; otherwise the CPU ops.
read -r TORCH_FULL PY_TAG TORCH_CUDA GPU_VISIBLE < <("$PY" -c "
import sys, torch
print(torch.__version__.split('+')[0], f'cp{sys.version_info.major}{sys.version_info.minor}',
      torch.version.cuda or 'none', int(torch.cuda.is_available()))")
if [ "$TORCH_CUDA" != none ] && command -v nvcc >/dev/null && { [ "$GPU_VISIBLE" = 1 ] || [ "${FORCE_CUDA:-0}" = 1 ]; }; then
    export FORCE_CUDA=1
    ARCHS=${TORCH_CUDA_ARCH_LIST:-native}
    DEVICE_TAG="cu${TORCH_CUDA//./}-sm${ARCHS//[^0-9a-zA-Z]/_}"
else
    export FORCE_CUDA=0
    DEVICE_TAG=cpu
fi
WHEEL_DIR="$MMCV_CACHE/mmcv-$MMCV_VERSION-torch$TORCH_FULL-$PY_TAG-$DEVICE_TAG"

step "mmcv $MMCV_VERSION with compiled ops ($DEVICE_TAG)"
if "$PY" -c "import mmcv, mmcv.ops, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
    echo "    already installed"
else
    wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [ -n "$wheel" ]; then
        echo "    using cached wheel $wheel"
    else
        echo "    no cached wheel in $WHEEL_DIR: building from the sdist (15-20 min on 2 CPU cores, longer with CUDA)"
        src=$(mktemp -d)
        # pip prepares metadata by running setup.py, which imports torch: hence --no-build-isolation here too
        pip_q download --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$src" ||
            fail "could not download the mmcv $MMCV_VERSION sdist from PyPI." "check network access to PyPI and rerun 'make install'."
        tar xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$src"
        # torch >= 2.14 headers need C++20; mmcv hard-codes -std=c++17 and no variable overrides it
        sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
        export MAX_JOBS=${MAX_JOBS:-$(($(nproc) + 1))}
        mkdir -p "$WHEEL_DIR"
        # --no-build-isolation: in an isolated build env there is no torch and mmcv silently builds without ops
        "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
            -w "$src/dist" "$src/mmcv-$MMCV_VERSION" > "$src/build.log" 2>&1 ||
            { tail -n 30 "$src/build.log" >&2
              fail "compiling MMCV's ops failed (full log: $src/build.log)." \
                   "make sure a C++ compiler (g++ >= 10) and Python headers are installed (Debian: apt-get install g++ python3-dev), then rerun 'make install'."; }
        built=$(ls "$src"/dist/mmcv-*.whl)
        "$PY" -c "import sys, zipfile; sys.exit(not any(n.startswith('mmcv/_ext') for n in zipfile.ZipFile(sys.argv[1]).namelist()))" "$built" ||
            fail "the MMCV wheel was built without compiled ops (mmcv/_ext missing; log: $src/build.log)." \
                 "rerun 'make install'; if it repeats, report the log."
        # copy then rename, so a parallel install never sees half a wheel
        cp "$built" "$WHEEL_DIR/.partial" && mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$built")"
        wheel="$WHEEL_DIR/$(basename "$built")"
        rm -rf "$src"
    fi
    pip_q install --no-deps --force-reinstall "$wheel" ||
        fail "pip could not install $wheel." "delete $WHEEL_DIR and rerun 'make install' to rebuild it."
fi

step "the rest of requirements.txt${EXTRA_REQUIREMENTS:+ and $EXTRA_REQUIREMENTS}"
requirements=requirements.txt
if [ "${SYSTEM_TORCH:-0}" = 1 ]; then  # keep the system torch: do not let pip replace it
    requirements=$(mktemp); grep -vE '^(torch|torchvision)==' requirements.txt > "$requirements"
fi
pip_q install -r "$requirements" ${EXTRA_REQUIREMENTS:+-r "$EXTRA_REQUIREMENTS"} ||
    fail "pip could not install the packages of requirements.txt (see pip's output above)." \
         "check network access to PyPI and rerun 'make install'."

step "check the installed stack"
"$PY" - <<'EOF' || fail "the stack does not import (see the error above)." "run 'rm -rf .venv && make install'; if it repeats, report the error."
import torch, mmcv, mmengine, mmseg, mmdet, mmpretrain
from mmcv.ops import PSAMask  # needs the compiled _ext
import mmseg.models  # noqa: F401  (imports mmcv.ops, ftfy, regex)
print(f"    torch {torch.__version__} (CUDA {torch.version.cuda}, GPU visible: {torch.cuda.is_available()}), "
      f"mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, "
      f"mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}")
EOF
echo "==> [install] done: $VENV is ready"
