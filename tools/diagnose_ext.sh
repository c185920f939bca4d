#!/usr/bin/env bash
# Why does MMCV's compiled _ext crash this Python? (tools/gpu_report.sh runs it when it does; see
# ../shared/reference/gpu-build-and-ops.md, "The GPU machine's own stack", for what each part tells.)
#   bash tools/diagnose_ext.sh    # from the repository root, after make install
set -u
PY=.venv/bin/python
probe='import torch, mmcv._ext as e; print(e.get_compiling_cuda_version())'
echo "== faulthandler"; timeout 120 "$PY" -X faulthandler -c "$probe"; echo "exit $?"
echo "== cuda-gdb backtrace"
if command -v cuda-gdb >/dev/null; then
    timeout 180 cuda-gdb -q -batch -ex run -ex bt --args "$PY" -c "$probe" 2>&1 | tail -n 60
else
    echo "no cuda-gdb"
fi
echo "== what is loaded, and from where"
timeout 120 "$PY" - <<'PYEOF'
import os, re, sys
import torch
print('torch', torch.__version__, torch.__file__)
import mmcv
print('mmcv', mmcv.__version__, mmcv.__file__)
ext = [os.path.join(os.path.dirname(mmcv.__file__), f) for f in os.listdir(os.path.dirname(mmcv.__file__))
       if f.startswith('_ext')]
print('_ext files:', ext)
libraries = sorted({line.split()[-1] for line in open('/proc/self/maps') if re.search(
    r'libc10|libtorch|libstdc\+\+|libpython|libgcc_s|libcudart', line)})
print('loaded:', *libraries, sep='\n  ')
import builtins
print('pybind11 keys before _ext:', [k for k in vars(builtins) if 'pybind11' in k])
for path in ext:
    keys = set(re.findall(rb'__pybind11_internals_v[\w]+__', open(path, 'rb').read()))
    print(f'pybind11 keys in {os.path.basename(path)}:', sorted(k.decode() for k in keys))
python_lib = os.path.join(os.path.dirname(torch.__file__), 'lib', 'libtorch_python.so')
if os.path.isfile(python_lib):
    keys = set(re.findall(rb'__pybind11_internals_v[\w]+__', open(python_lib, 'rb').read()))
    print('pybind11 keys in libtorch_python.so:', sorted(k.decode() for k in keys))
PYEOF
echo "== load_inline probe (a one-line extension built against this torch)"
timeout 300 "$PY" - <<'PYEOF'
from torch.utils.cpp_extension import load_inline
module = load_inline('probe', cpp_sources='std::string hello() { return "compiled against this torch: ok"; }',
                     functions=['hello'], verbose=False)
print(module.hello())
PYEOF
echo "exit $?"
