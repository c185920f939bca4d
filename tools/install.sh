#!/usr/bin/env bash
# Installs the pinned OpenMMLab stack (requirements.txt) into .venv/. MMCV comes without its compiled op library,
# with the project's pure-PyTorch ops in its place (no compiler needed); MMCV_OPS=compiled builds MMCV's own ops.
#
#   bash tools/install.sh                       # or: make install (pure-PyTorch ops, minutes)
#   MMCV_OPS=compiled bash tools/install.sh     # MMCV's compiled ops: a C++ (on a GPU machine, CUDA) build
#
# Variables:
#   MMCV_OPS=pytorch        the default: MMCV without its compiled op library, with the project's pure-PyTorch ops
#                           (training/mmcv_ext_pytorch.py) installed as mmcv/_ext.py
#   MMCV_OPS=compiled       MMCV's own op library, built from source here (CPU or CUDA ops per
#                           training/install/plan.py, cached; the variables below choose how)
#   PYTHON=python3.11       interpreter that creates .venv (default: python3)
#   SYSTEM_TORCH=1          keep the torch already installed for $PYTHON (e.g. a GPU image's CUDA
#                           build): .venv sees the system site-packages and torch is not reinstalled
#   MMCV_CACHE=DIR          where built MMCV wheels are kept (default: ~/.cache/ade20k-seg/mmcv-wheels)
#   VENV=DIR                the venv to install into (default .venv)
# With MMCV_OPS=compiled:
#   FORCE_CUDA=1            build MMCV's CUDA ops even if no GPU is visible (for the architectures of
#                           TORCH_CUDA_ARCH_LIST, else every one torch has kernels for)
#   TORCH_CUDA_ARCH_LIST    GPU architectures for the CUDA build, e.g. "8.0;9.0" (default: the visible GPUs')
#   MMCV_CPU_OPS=1          CPU ops only, even on a GPU machine (psanet, mask2former, maskformer then fail on it)
#   CUDA_HOME=DIR           the CUDA toolkit to compile with (default: the nvcc on PATH if its CUDA major is
#                           torch's, else NVIDIA's compiler from PyPI, installed into .venv)
#   MAX_JOBS=N              parallel compile jobs for the MMCV build
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTORCH_OPS_SOURCE=training/mmcv_ext_pytorch.py
NO_COMPILER="or install without compiling anything: make install (the default pure-PyTorch ops; see README)"
PY="$VENV/bin/python"
PYTHON=${PYTHON:-python3}
CURRENT_STEP=""
# the command that reruns this install as it was asked for
RERUN="${MMCV_OPS:+MMCV_OPS=$MMCV_OPS }make install"

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
    if [ "${SYSTEM_TORCH:-0}" = 1 ]; then
        echo "    seeing the system site-packages of $PYTHON"
        # a $PYTHON that is itself a venv (GPU images often keep torch in one, e.g. /opt/torch/.venv)
        "$PY" -m training.install.plan --see-site-packages-of "$PYTHON" ||
            fail "could not make $VENV see the packages of $PYTHON." "check that '$PYTHON -c \"import site\"' works, then rerun."
    fi
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
             "check network access to PyPI and free disk space (a CUDA torch needs ~6 GB), then rerun '$RERUN'."
fi

step "build tools for MMCV (setuptools<82 keeps pkg_resources, which mmcv's setup.py imports)"
pip_q install "setuptools<82" wheel ninja psutil ||
    fail "pip could not install setuptools<82, wheel, ninja, psutil." "check network access to PyPI and rerun '$RERUN'."

step "decide how to build MMCV's ops (training/install/plan.py)"
# sets PLAN_OPS (cpu|cuda|pytorch), CUDA_COMPILER (system|pypi|''), PLAN_CUDA_HOME, PLAN_ARCH_LIST, DEVICE_TAG,
# WHEEL_DIR (the wheel's cache folder, in MMCV_CACHE), PYPI_CUDA_PACKAGES and BUILD_ENV (the variables of the MMCV
# build); an error says why and what to do
plan=$("$PY" -m training.install.plan --shell --mmcv-version "$MMCV_VERSION" --venv-cuda-home "$PWD/$VENV/cuda") ||
    { echo "" >&2; echo "install failed at step '$CURRENT_STEP' (see the error above)." >&2; exit 1; }
eval "$plan"
echo "    MMCV ops: $PLAN_OPS${PLAN_ARCH_LIST:+ for sm ${PLAN_ARCH_LIST}}${CUDA_COMPILER:+, compiler: $CUDA_COMPILER ($PLAN_CUDA_HOME)}"

if [ "$CUDA_COMPILER" = pypi ]; then
    step "NVIDIA's CUDA compiler from PyPI ($PYPI_CUDA_PACKAGES), laid out as CUDA_HOME=$PLAN_CUDA_HOME"
    # shellcheck disable=SC2086
    pip_q install $PYPI_CUDA_PACKAGES ||
        fail "pip could not install NVIDIA's CUDA compiler ($PYPI_CUDA_PACKAGES)." \
             "check network access to PyPI, or install a CUDA toolkit of torch's CUDA version and put its nvcc on PATH, then rerun '$RERUN'."
    "$PY" -m training.install.plan --cuda-home "$PLAN_CUDA_HOME" >/dev/null ||
        fail "NVIDIA's PyPI compiler could not be laid out as a CUDA toolkit (see the error above)." \
             "rerun '$RERUN'; or install a CUDA toolkit and put its nvcc on PATH."
fi

if [ "$PLAN_OPS" = pytorch ]; then
    step "mmcv $MMCV_VERSION without compiled ops, with the pure-PyTorch ops of $PYTORCH_OPS_SOURCE"
else
    step "mmcv $MMCV_VERSION with compiled ops ($DEVICE_TAG)"
fi
if "$PY" -c "import mmcv, mmcv.ops, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null &&
        "$PY" -m training.install.check --verify "$PLAN_OPS" 2>/dev/null; then
    echo "    already installed"
else
    wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [ -n "$wheel" ]; then
        echo "    using cached wheel $wheel"
    else
        if [ "$PLAN_OPS" = pytorch ]; then
            echo "    no cached wheel in $WHEEL_DIR: building from the sdist without ops (seconds)"
        else
            echo "    no cached wheel in $WHEEL_DIR: building from the sdist (15-20 min on 2 CPU cores for CPU ops;"
            echo "    CUDA ops: ~45 min on 2 cores, minutes on 16)"
        fi
        src=$(mktemp -d)
        # pip prepares metadata by running setup.py, which imports torch (--no-build-isolation) and takes its
        # CUDA branch whenever torch sees a GPU: the download itself runs without CUDA
        CUDA_VISIBLE_DEVICES='' FORCE_CUDA=0 pip_q download --no-deps --no-binary :all: --no-build-isolation \
            "mmcv==$MMCV_VERSION" -d "$src" ||
            fail "could not download the mmcv $MMCV_VERSION sdist from PyPI." "check network access to PyPI and rerun '$RERUN'."
        tar xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$src"
        # torch >= 2.14 headers need C++20; mmcv hard-codes -std=c++17 and no variable overrides it
        sed -i 's/-std=c++17/-std=c++20/g' "$src/mmcv-$MMCV_VERSION/setup.py"
        # without ops (MMCV_WITH_OPS=0) setup.py names the package mmcv-lite, which requirements.txt's mmcv==
        # (and every check of an installed mmcv) would not see: keep the name mmcv
        sed -i "s/else 'mmcv-lite'/else 'mmcv'/" "$src/mmcv-$MMCV_VERSION/setup.py"
        export MAX_JOBS=${MAX_JOBS:-$(($(nproc) + 1))}
        mkdir -p "$WHEEL_DIR"
        # --no-build-isolation: in an isolated build env there is no torch and mmcv silently builds without ops
        # shellcheck disable=SC2086
        env $BUILD_ENV "$PY" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
            -w "$src/dist" "$src/mmcv-$MMCV_VERSION" > "$src/build.log" 2>&1 ||
            { tail -n 30 "$src/build.log" >&2
              fail "building MMCV failed (full log: $src/build.log)." \
                   "make sure a C++ compiler (g++ >= 10) and Python headers are installed (Debian: apt-get install g++ python3-dev), then rerun '$RERUN'; $NO_COMPILER."; }
        built=$(ls "$src"/dist/mmcv-*.whl)
        [ "$PLAN_OPS" = pytorch ] ||
            "$PY" -m training.install.check --wheel-has-ops "$built" ||
            fail "the MMCV wheel was built without compiled ops (mmcv/_ext missing; log: $src/build.log)." \
                 "rerun '$RERUN'; if it repeats, report the log; $NO_COMPILER."
        # copy then rename, so a parallel install never sees half a wheel
        cp "$built" "$WHEEL_DIR/.partial" && mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$built")"
        wheel="$WHEEL_DIR/$(basename "$built")"
        rm -rf "$src"
    fi
    pip_q install --no-deps --force-reinstall "$wheel" ||
        fail "pip could not install $wheel." "delete $WHEEL_DIR and rerun '$RERUN' to rebuild it."
fi
mmcv_dir=$("$PY" -m training.install.check --mmcv-dir)  # (found, not imported: its dependencies come next)
if [ "$PLAN_OPS" = pytorch ]; then  # every time: the installed copy follows the checkout's file
    cp "$PYTORCH_OPS_SOURCE" "$mmcv_dir/_ext.py"
else  # left by an earlier MMCV_OPS=pytorch install (pip does not know the file)
    rm -f "$mmcv_dir/_ext.py"
fi

step "the rest of requirements.txt${EXTRA_REQUIREMENTS:+ and $EXTRA_REQUIREMENTS}"
requirements=requirements.txt
if [ "${SYSTEM_TORCH:-0}" = 1 ]; then  # keep the system torch: do not let pip replace it
    requirements=$(mktemp); grep -vE '^(torch|torchvision)==' requirements.txt > "$requirements"
fi
deps=()
fix_requirements="check network access to PyPI and rerun '$RERUN'."
if [ "${PIP_NO_INDEX:-0}" = 1 ] && [ -d "${PIP_FIND_LINKS:-}" ]; then
    # offline, from a folder of wheels (tools/gather_gpu_wheels.sh): it holds what this machine lacks and is
    # installed as it is; resolving dependencies would ask for packages the machine provides under other names
    # (opencv-python, where a GPU image has opencv-python-headless) and stop
    deps=(--no-deps)
    fix_requirements="add the missing package (pip names it above) to MISSING in tools/gather_gpu_wheels.sh, gather again and carry $PIP_FIND_LINKS."
    pip_q install --no-deps "$PIP_FIND_LINKS"/*.whl ||
        fail "pip could not install the wheels of $PIP_FIND_LINKS." "gather them again: bash tools/gather_gpu_wheels.sh"
fi
pip_q install "${deps[@]}" -r "$requirements" ${EXTRA_REQUIREMENTS:+-r "$EXTRA_REQUIREMENTS"} ||
    fail "pip could not install the packages of requirements.txt${EXTRA_REQUIREMENTS:+ and $EXTRA_REQUIREMENTS} (see pip's output above)." \
         "$fix_requirements"

step "check the installed stack"
problem=$("$PY" -m training.install.check --verify "$PLAN_OPS" 2>&1) ||
    fail "the installed MMCV is not usable with $PLAN_OPS ops on this machine: $problem." \
         "delete $WHEEL_DIR and run 'rm -rf $VENV && $RERUN' to rebuild it here$([ "${SYSTEM_TORCH:-0}" = 1 ] && echo "; with SYSTEM_TORCH=1 the torch is not requirements.txt's: if it repeats, install without SYSTEM_TORCH")$([ "$PLAN_OPS" = pytorch ] || echo "; $NO_COMPILER")."
"$PY" -m training.install.check --report ||
    fail "the stack does not import (see the error above)." "run 'rm -rf $VENV && $RERUN'; if it repeats, report the error."
echo "==> [install] done: $VENV is ready"
