"""Why does MMCV's compiled _ext crash a Python? (tools/gpu_report.sh runs this when the MMCV_OPS=compiled install's
check crashes; it was seen once, on a GPU image with its own Python 3.12 and torch 2.11: SIGSEGV at the first call
into _ext, while the same build recipe works on the CPU machines.)

    python -m training.install.ext_diagnosis --python .venv-compiled/bin/python [--no-probe]

Each part says something about where the crash is:
1. faulthandler: the Python line that crashed (an import, or the first call into _ext).
2. a cuda-gdb backtrace (cuda-gdb debugs programs without GPU code too; gdb where there is no cuda-gdb): frames in
   pybind11's dispatcher or get_internals point at two pybind11 layouts sharing one state (other headers than
   torch's reached the build: CPATH, CPLUS_INCLUDE_PATH, a pybind11 package) or at pybind11 3.x's own path on
   Python >= 3.12; frames in libc10 or libpython point at an _ext built against another torch than the one loaded.
3. what is loaded and from where: torch, mmcv and its _ext files, the C++ runtime, libpython and CUDA libraries
   (/proc/self/maps), and the pybind11 internals keys of the interpreter, of _ext and of libtorch_python.so
   (different keys: two pybind11 states).
4. a one-line extension built with torch's own load_inline: if it crashes too, the cause is torch, pybind11 and this
   Python on this image, not MMCV.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import textwrap

from ..paths import REPO_ROOT  # (the standard library only: this runs in whatever Python is diagnosed)

PROBE = 'import torch, mmcv._ext as e; print(e.get_compiling_cuda_version())'
LIBRARIES = re.compile(r'libc10|libtorch|libstdc\+\+|libpython|libgcc_s|libcudart')
PYBIND11_KEY = re.compile(rb'__pybind11_internals_v\w+__')


def run(command, timeout):
    """(exit status or 'timeout', output) of a command, run from the repository."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        return 'timeout', ''
    return result.returncode, (result.stdout + result.stderr).strip()


def faulthandler_run(python):
    return run([python, '-X', 'faulthandler', '-c', PROBE], 120)


def backtrace(python):
    debugger = shutil.which('cuda-gdb') or shutil.which('gdb')
    if debugger is None:
        return None, 'no cuda-gdb or gdb on this machine'
    status, output = run([debugger, '-q', '-batch', '-ex', 'run', '-ex', 'bt', '--args', python, '-c', PROBE], 180)
    return status, '\n'.join(output.splitlines()[-60:])


def loaded():
    """Runs in the Python under diagnosis (--loaded): what it loads for torch and MMCV, and from where."""
    import builtins

    import torch
    lines = [f'torch {torch.__version__} {torch.__file__}']
    import mmcv
    lines.append(f'mmcv {mmcv.__version__} {mmcv.__file__}')
    package = os.path.dirname(mmcv.__file__)
    ext = [os.path.join(package, name) for name in os.listdir(package) if name.startswith('_ext')]
    lines.append(f'_ext files: {ext}')
    with open('/proc/self/maps') as maps:
        libraries = sorted({line.split()[-1] for line in maps if LIBRARIES.search(line)})
    lines += ['loaded:'] + [f'  {library}' for library in libraries]
    lines.append(f'pybind11 keys before _ext: {[key for key in vars(builtins) if "pybind11" in key]}')
    torch_python = os.path.join(os.path.dirname(torch.__file__), 'lib', 'libtorch_python.so')
    for path in ext + ([torch_python] if os.path.isfile(torch_python) else []):
        with open(path, 'rb') as f:
            keys = sorted({key.decode() for key in PYBIND11_KEY.findall(f.read())})
        lines.append(f'pybind11 keys in {os.path.basename(path)}: {keys}')
    return lines


def load_inline_probe(python):
    code = textwrap.dedent('''
        from torch.utils.cpp_extension import load_inline
        module = load_inline('probe', cpp_sources='std::string hello() { return "compiled against this torch: ok"; }',
                             functions=['hello'], verbose=False)
        print(module.hello())''')
    return run([python, '-c', code], 300)


def diagnose(python, probe=True):
    """The diagnosis of `python`'s _ext, as text: one section a part, each with its exit status."""
    sections = []
    status, output = faulthandler_run(python)
    sections.append(('faulthandler', status, output))
    status, output = backtrace(python)
    sections.append(('backtrace', status, output))
    status, output = run([python, '-m', 'training.install.ext_diagnosis', '--loaded'], 120)
    sections.append(('what is loaded, and from where', status, output))
    if probe:
        status, output = load_inline_probe(python)
        sections.append(('load_inline probe (a one-line extension built against this torch)', status, output))
    return '\n'.join(f'== {title} (exit {status})\n{output}' for title, status, output in sections)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--python', default=sys.executable, help='the Python whose MMCV _ext to diagnose')
    parser.add_argument('--no-probe', action='store_true', help='skip the load_inline probe (it compiles: minutes)')
    parser.add_argument('--loaded', action='store_true', help=argparse.SUPPRESS)  # part 3, run by the Python diagnosed
    args = parser.parse_args(argv)
    print(*(loaded() if args.loaded else [diagnose(args.python, probe=not args.no_probe)]), sep='\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
