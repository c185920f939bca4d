#!/usr/bin/env bash
# The GPU report in one command, for a GPU machine lent for minutes (no network, its own Python and torch):
#
#   bash tools/gather_gpu_wheels.sh     # beforehand, on a machine with network: the wheels into .whl/ (see docs)
#   bash tools/gpu_report.sh            # there, from the repository root, with .whl/ carried along
#
# In this order, each result saved as it comes (docs/gpu_check*, docs/gpu_report/, and $OUT when set):
#   1. the environment: driver, GPU, Python, torch and where it lives, compilers, pybind11 headers;
#   2. the default install (SYSTEM_TORCH=1: the machine's torch), with the pure-PyTorch ops: no build;
#   3. --compile at 512x512: fcn, segformer, mask2former and swin, eager against --compile against --compile with
#      CUDA graphs (reduce-overhead) and official MMSeg, paired in one process, --amp first, then fp32
#      (COMPILE_MINUTES of the budget, default 5; docs/gpu_report/compile_*.txt);
#   4. make gpu-check's op checks, then fcn and the three models that call MMCV's ops at 512x512, fp32 and --amp;
#   5. where a compiled MMCV wheel for this machine is carried or cached: MMCV_OPS=compiled into .venv-compiled,
#      then psanet, mask2former and maskformer step times on both kinds of ops (if its _ext crashes: the diagnosis);
#   6. the other models, while time is left of REPORT_MINUTES (default 9).
# Without a GPU it says so after step 1 and exits 0. The Python of each step lives in training/ (measure/gpu_report.py,
# install/ext_diagnosis.py, measure/gpu_check.py).
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
BUDGET_S=$((${REPORT_MINUTES:-9} * 60))
SAVE=${OUT:-}
REPORT_DIR=$(mktemp -d)  # becomes docs/gpu_report/ once a GPU is found: a CPU machine keeps nothing
trap 'rm -rf "'"$REPORT_DIR"'"' EXIT
exec > >(tee -a "$REPORT_DIR/report.log") 2>&1
FIRST=(fcn psanet mask2former maskformer)
THEN=(vit_deit sem_fpn segformer swin)
COMPILED=(fcn segformer mask2former swin)

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
check() { timeout "$1" .venv/bin/python tools/gpu_check.py "${@:2}"; save; }  # one part, under the time left

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
    for candidate in /opt/torch/.venv/bin/python python3 .venv/bin/python; do
        command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null && { PYTHON=$candidate; break; }
    done
fi

section "environment"
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 | head -5
"${PYTHON:-python3}" -m training.measure.gpu_report environment 2>&1
{ g++ --version | head -1; nvcc --version 2>/dev/null | tail -1; } 2>&1
echo "TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-} CPATH=${CPATH:-} CPLUS_INCLUDE_PATH=${CPLUS_INCLUDE_PATH:-}"
save
if ! "${PYTHON:-python3}" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    echo "gpu_report: no GPU is visible here (torch.cuda.is_available() is False): nothing more to report."
    exit 0
fi
mkdir -p docs/gpu_report && cp -f "$REPORT_DIR"/report.log docs/gpu_report/ && REPORT_DIR=docs/gpu_report
exec > >(tee -a "$REPORT_DIR/report.log") 2>&1
if [ -d .whl ]; then  # carried: no network there
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/.whl" MMCV_CACHE="$PWD/.whl/mmcv-cache"
fi

section "install: the default pure-PyTorch ops, no build (SYSTEM_TORCH=1, PYTHON=$PYTHON)"
SYSTEM_TORCH=1 PYTHON="$PYTHON" make install || { save; exit 1; }
save

section "--compile: ${COMPILED[*]} at 512x512, eager / compiled / reduce-overhead / official, --amp then fp32"
COMPILE_END=$(($(date +%s) + ${COMPILE_MINUTES:-5} * 60))
for precision in --amp ""; do
    for model in "${COMPILED[@]}"; do
        budget=$((COMPILE_END - $(date +%s)))
        [ "$budget" -gt 30 ] || break 2
        timeout "$budget" .venv/bin/python tools/benchmark.py --compile --compile-modes default reduce-overhead \
            --warmup 3 --iters 10 $precision "$model" | tee -a "$REPORT_DIR/compile${precision:-_fp32}.txt"
        save
    done
done

section "the op checks (pure-PyTorch ops)"
check "$(left)" --no-models
section "training on the default ops: ${FIRST[*]}"
check "$(left)" --no-ops --models "${FIRST[@]}"

section "MMCV's compiled ops, where a wheel for this machine is carried or cached"
wheel=$(.venv/bin/python -m training.measure.gpu_report compiled-wheel 2>/dev/null)
if [ -z "$wheel" ]; then
    echo "no compiled MMCV wheel for this machine in ${MMCV_CACHE:-the install cache}: the comparison is skipped"
elif VENV=.venv-compiled MMCV_OPS=compiled SYSTEM_TORCH=1 PYTHON="$PYTHON" timeout "$(left)" bash tools/install.sh; then
    section "psanet, mask2former, maskformer: pure-PyTorch vs compiled ops ($wheel)"
    timeout "$(left)" .venv/bin/python -m training.measure.gpu_report compare-modes \
        --compiled-python .venv-compiled/bin/python --report-dir "$REPORT_DIR"
else
    section "the compiled install failed: diagnosis of its _ext"
    timeout "$(left)" .venv/bin/python -m training.install.ext_diagnosis --python .venv-compiled/bin/python \
        > "$REPORT_DIR/diagnosis.txt" 2>&1
    tail -n 40 "$REPORT_DIR/diagnosis.txt"
fi
save

section "the next models: ${THEN[*]}"
check "$(left)" --no-ops --models "${THEN[@]}"
mapfile -t rest < <(.venv/bin/python -m training.measure.gpu_report other-models "${FIRST[@]}" "${THEN[@]}")
if [ "$(left)" -gt 60 ]; then
    section "the other models, while time is left ($(left) s)"
    check "$(($(left) - 15))" --no-ops --models "${rest[@]}"
fi
save
section "done in $(($(date +%s) - START)) s: docs/gpu_check.md, $REPORT_DIR/"
exit 0
