"""What tools/install.sh checks once MMCV is in place: the installed ops are the ones the plan asked for (checked in a
child Python, which a mismatched compiled library can crash), a freshly built wheel holds its op library, and the
line the install ends with (the stack's versions and which MMCV ops, with how to get the other kind).

    python -m training.install.check --verify pytorch|cpu|cuda   # nothing on success, else what is wrong (exit 1)
    python -m training.install.check --wheel-has-ops WHEEL       # exit 1 where the wheel has no mmcv/_ext
    python -m training.install.check --mmcv-dir                  # where MMCV is installed (found, not imported)
    python -m training.install.check --report                    # the installed stack, two lines
"""
import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import zipfile

from ..paths import REPO_ROOT  # (the standard library only: this runs before the stack is installed)
OPS = ('pytorch', 'cpu', 'cuda')


def verify(ops):
    """None if the installed MMCV has `ops` ('cpu', 'cuda' or 'pytorch'); else what is wrong. With a GPU
    visible, the three ops the models reach run once on it."""
    import torch
    try:
        from mmcv.ops import get_compiling_cuda_version
    except ImportError as error:
        return f'mmcv.ops does not import ({error})'
    from ..mmcv_ops import ops_kind, run_each_op_once
    if (ops == 'pytorch') != (ops_kind() == 'pytorch'):
        return f'its ops are {ops_kind()}, not {ops}'
    if ops == 'pytorch':
        failed = run_each_op_once('cpu') + (run_each_op_once('cuda') if torch.cuda.is_available() else [])
        return '; '.join(failed) or None
    compiled = get_compiling_cuda_version()
    if ops == 'cuda' and compiled == 'not available':
        return 'MMCV was built without CUDA ops'
    if ops == 'cuda' and torch.cuda.is_available():
        failed = run_each_op_once('cuda')
        if failed:
            return 'on this GPU: ' + '; '.join(failed)
    return None


def verify_in_child(ops, command=None):
    """verify(ops) in a child Python: a build that does not fit this torch can crash the interpreter (a
    segmentation fault inside MMCV's compiled _ext, seen with a foreign torch on a GPU image) instead of raising,
    and the install must still say what went wrong."""
    command = command or [sys.executable, '-m', 'training.install.check', '--verify-here', ops]
    child = subprocess.run(command, capture_output=True, text=True,
                           cwd=REPO_ROOT)
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        return (f'importing or running its compiled ops crashed Python ({name}); most likely they were compiled '
                f'for another torch, compiler or C++ library than this Python loads')
    if child.returncode:
        return (child.stderr.strip().splitlines() or [f'the check failed (exit {child.returncode})'])[-1]
    return None


def wheel_has_ops(wheel):
    """Whether an MMCV wheel holds its compiled op library (mmcv/_ext*): without torch in its build environment
    MMCV's setup.py silently builds without it."""
    return any(name.startswith('mmcv/_ext') for name in zipfile.ZipFile(wheel).namelist())


def mmcv_dir():
    """The installed mmcv package's directory, found without importing it (its dependencies may come later)."""
    return os.path.dirname(importlib.util.find_spec('mmcv').origin)


def report():
    """The installed stack (raises where it does not import) and which MMCV ops, with the other kind's command."""
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import mmseg
    import mmseg.models  # noqa: F401  (imports mmcv.ops, ftfy, regex)
    import torch
    from mmcv.ops import PSAMask  # noqa: F401  (needs mmcv._ext)

    from ..mmcv_ops import ops_line
    return [f'torch {torch.__version__} (CUDA {torch.version.cuda}, GPU visible: {torch.cuda.is_available()}), '
            f'mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, '
            f'mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}', ops_line()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--verify', choices=OPS)
    parser.add_argument('--verify-here', choices=OPS, help=argparse.SUPPRESS)  # the child of --verify
    parser.add_argument('--wheel-has-ops', metavar='WHEEL')
    parser.add_argument('--mmcv-dir', action='store_true')
    parser.add_argument('--report', action='store_true')
    args = parser.parse_args(argv)
    if args.verify or args.verify_here:
        problem = verify_in_child(args.verify) if args.verify else verify(args.verify_here)
        if problem:
            print(problem, file=sys.stderr)
            return 1
    elif args.wheel_has_ops:
        return 0 if wheel_has_ops(args.wheel_has_ops) else 1
    elif args.mmcv_dir:
        print(mmcv_dir())
    elif args.report:
        print(*(f'    {line}' for line in report()), sep='\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
