#!/usr/bin/env bash
# The GPU report in one command, for a GPU machine lent for minutes (no network, its own Python and torch):
#
#   bash tools/gather_gpu_wheels.sh     # beforehand, on a machine with network: the wheels into .whl/ (see docs)
#   bash tools/gpu_report.sh            # there, from the repository root, with .whl/ carried along
#
# In this order, each result saved as it comes (docs/gpu_check*, docs/gpu_report/, and $OUT when set):
#   1. the environment: driver, GPU, Python, torch and where it lives, compilers, pybind11 headers;
#   2. the install (SYSTEM_TORCH=1: the machine's torch), from the carried MMCV wheel when there is one;
#   3. if MMCV's compiled _ext crashes: the diagnosis (faulthandler, cuda-gdb backtrace, loaded libraries,
#      pybind11 keys, a load_inline probe), then a reinstall with the pure-PyTorch ops (MMCV_OPS=pytorch);
#   4. make gpu-check: the op checks, then the priority models at 512x512 in fp32 and --amp, then the rest,
#      each part under the time left of REPORT_MINUTES (default 9).
# Without a GPU it says so after step 1 and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
BUDGET_S=$((${REPORT_MINUTES:-9} * 60))
SAVE=${OUT:-}
REPORT_DIR=$(mktemp -d)  # becomes docs/gpu_report/ once a GPU is found: a CPU machine keeps nothing
trap 'rm -rf "'"$REPORT_DIR"'"' EXIT
exec > >(tee -a "$REPORT_DIR/report.log") 2>&1
PRIORITY=(fcn psanet mask2former maskformer vit_deit sem_fpn segformer swin)

save() {  # what has been measured so far, also into $OUT (the device tool brings back files from there)
    [ -n "$SAVE" ] || return 0
    mkdir -p "$SAVE"
    cp -f "$REPORT_DIR"/* "$SAVE"/ 2>/dev/null
    [ -f docs/gpu_check.md ] && cp -f docs/gpu_check.md "$SAVE"/
    for part in docs/gpu_check/*.json; do [ -f "$part" ] && cp -f "$part" "$SAVE"/; done
    return 0
}
left() { echo $((BUDGET_S - ($(date +%s) - START))); }
section() { echo; echo "==> [gpu_report $(($(date +%s) - START)) s] $1"; }

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in /opt/torch/.venv/bin/python python3 .venv/bin/python; do
        command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null && { PYTHON=$candidate; break; }
    done
fi

section "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -5
"${PYTHON:-python3}" - <<'EOF' 2>&1
import os, platform, sys
print(f'python {platform.python_version()} at {sys.executable} (prefix {sys.prefix})')
try:
    import torch
    print(f'torch {torch.__version__} at {os.path.dirname(torch.__file__)}, CUDA {torch.version.cuda}, '
          f'GPU visible: {torch.cuda.is_available()}, arch list {torch.cuda.get_arch_list()}')
    config = torch.__config__.show()
    print('torch built with: ' + ' '.join(l.strip() for l in config.splitlines() if 'CXX_COMPILER' in l or 'GCC' in l)[:300])
    print(f'torch pybind11 headers: {os.path.join(os.path.dirname(torch.__file__), "include", "pybind11")}')
except ImportError as error:
    print(f'torch: {error}')
try:
    import pybind11
    print(f'pybind11 package {pybind11.__version__}: {pybind11.get_include()}')
except ImportError:
    print('pybind11 package: none')
EOF
{ g++ --version | head -1; nvcc --version 2>/dev/null | tail -1; } 2>&1
echo "TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-} CPATH=${CPATH:-} CPLUS_INCLUDE_PATH=${CPLUS_INCLUDE_PATH:-}"
save
if ! "${PYTHON:-python3}" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    echo "gpu_report: no GPU is visible here (torch.cuda.is_available() is False): nothing more to report."
    exit 0
fi
mkdir -p docs/gpu_report && cp -f "$REPORT_DIR"/report.log docs/gpu_report/ && REPORT_DIR=docs/gpu_report
exec > >(tee -a "$REPORT_DIR/report.log") 2>&1

section "install (SYSTEM_TORCH=1, PYTHON=$PYTHON)"
if [ -d .whl ]; then  # carried: no network there
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/.whl" MMCV_CACHE="$PWD/.whl/mmcv-cache"
fi
OPS_MODE=  # compiled, unless that crashes
SYSTEM_TORCH=1 PYTHON="$PYTHON" make install
installed=$?
save

section "does MMCV's compiled _ext work?"
.venv/bin/python -c "import mmcv._ext as e; print('mmcv._ext:', e.get_compiling_cuda_version(), e.get_compiler_version())"
ext=$?
if [ $installed -ne 0 ] || [ $ext -ne 0 ]; then
    section "diagnosis (install exit $installed, _ext exit $ext)"
    bash tools/diagnose_ext.sh > "$REPORT_DIR/diagnosis.txt" 2>&1
    tail -n 40 "$REPORT_DIR/diagnosis.txt"
    save
    section "reinstall with the pure-PyTorch ops (MMCV_OPS=pytorch)"
    rm -rf .venv
    OPS_MODE=pytorch
    MMCV_OPS=pytorch SYSTEM_TORCH=1 PYTHON="$PYTHON" make install || { save; exit 1; }
fi
save
# the checks of make gpu-check, each part under the time left (timeout ends the part's whole process group)
check() { timeout "$1" .venv/bin/python tools/gpu_check.py "${@:2}"; save; }

section "the op checks${OPS_MODE:+ (pure-PyTorch ops)}"
check "$(left)" --no-models
section "the priority models: ${PRIORITY[*]}"
check "$(left)" --no-ops --models "${PRIORITY[@]}"
mapfile -t rest < <(.venv/bin/python -c "
import sys
from training.experiments import all_names
print(*(m for m in all_names() if m not in sys.argv[1:]), sep='\n')" "${PRIORITY[@]}")
if [ "$(left)" -gt 60 ]; then
    section "the other models, while time is left ($(left) s)"
    check "$(($(left) - 15))" --no-ops --models "${rest[@]}"
fi
save
section "done in $(($(date +%s) - START)) s: docs/gpu_check.md"
exit 0
