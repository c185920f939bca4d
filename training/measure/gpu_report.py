"""The Python steps of tools/gpu_report.sh, the prepared command for a GPU machine lent for minutes:

    python -m training.measure.gpu_report environment          # driver-side facts of this Python (no MMCV needed)
    python -m training.measure.gpu_report other-models fcn ... # every model but these, one a line
    python -m training.measure.gpu_report compiled-wheel       # the cached or carried MMCV_OPS=compiled wheel that
                                                               # fits this machine, or nothing
    python -m training.measure.gpu_report compare-modes --compiled-python PY psanet mask2former maskformer
                                                               # step times on the default pure-PyTorch ops (this
                                                               # Python) and on MMCV's compiled ops (PY), one JSON
                                                               # line a model, and docs/gpu_report/ops_modes.md

`environment` runs before anything is installed, with the machine's own Python: it needs the standard library only
(torch where it is there).
"""
import argparse
import glob
import json
import os
import platform
import subprocess
import sys

from ..paths import REPO_ROOT
from ..experiments import all_names

OPS_MODELS = ('psanet', 'mask2former', 'maskformer')  # the three that call MMCV's ops
REPORT_DIR = os.path.join(REPO_ROOT, 'docs', 'gpu_report')


def environment():
    """Lines: Python, torch (where it lives, its CUDA, the GPU, the compiler it was built with), pybind11."""
    lines = [f'python {platform.python_version()} at {sys.executable} (prefix {sys.prefix})']
    try:
        import torch
        lines.append(f'torch {torch.__version__} at {os.path.dirname(torch.__file__)}, CUDA {torch.version.cuda}, '
                     f'GPU visible: {torch.cuda.is_available()}, arch list {torch.cuda.get_arch_list()}')
        config = torch.__config__.show()
        built = ' '.join(line.strip() for line in config.splitlines() if 'CXX_COMPILER' in line or 'GCC' in line)
        lines.append(f'torch built with: {built[:300]}')
        lines.append(f'torch pybind11 headers: {os.path.join(os.path.dirname(torch.__file__), "include", "pybind11")}')
    except ImportError as error:
        lines.append(f'torch: {error}')
    try:
        import pybind11
        lines.append(f'pybind11 package {pybind11.__version__}: {pybind11.get_include()}')
    except ImportError:
        lines.append('pybind11 package: none')
    return lines


def other_models(models):
    return [model for model in all_names() if model not in models]


def compiled_wheel(cache=None):
    """The MMCV wheel that `MMCV_OPS=compiled make install` would take on this machine without building (its plan's
    cache folder, in MMCV_CACHE), or None."""
    import mmcv

    from ..install.plan import decide, probe, wheel_dir
    machine = probe(os.path.join(sys.prefix, 'cuda'))
    plan = decide(dict(machine, environ=dict(
        {k: os.environ[k] for k in ('TORCH_CUDA_ARCH_LIST', 'FORCE_CUDA') if k in os.environ}, MMCV_OPS='compiled')))
    folder = wheel_dir(plan['cache_tag'], mmcv.__version__, machine['torch_version'], cache)
    wheels = sorted(glob.glob(os.path.join(folder, 'mmcv-*.whl')))
    return wheels[0] if wheels else None


def step_time(python, model, extra):
    """tools/benchmark.py's figures of `model` (ours) run by `python`, or {'error': ...}."""
    command = [python, os.path.join(REPO_ROOT, 'tools', 'benchmark.py'), model, *extra]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith('{')]
    if not lines:
        return dict(error=(result.stderr.strip().splitlines() or ['no output'])[-1][:300])
    figures = json.loads(lines[-1])
    return figures.get('ours', figures)


def compare_modes(compiled_python, models=OPS_MODELS, extra=(), report_dir=REPORT_DIR):
    """Each model's step time on the pure-PyTorch ops (this Python) and on the compiled ops (`compiled_python`), as
    it comes (JSON lines); the table in report_dir/ops_modes.md, rewritten after every model."""
    rows = []
    for model in models:
        pytorch, compiled = (step_time(python, model, list(extra)) for python in (sys.executable, compiled_python))
        row = dict(model=model, pytorch_ops=pytorch, compiled_ops=compiled)
        if 'error' not in pytorch and 'error' not in compiled:
            row['compiled_over_pytorch'] = round(compiled['ms_per_iter_median'] / pytorch['ms_per_iter_median'], 3)
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_modes_table(rows, report_dir)
    return rows


def write_modes_table(rows, report_dir):
    def cell(figures, key):
        return figures.get(key, figures.get('error', ''))
    lines = ['| model | device | pure-PyTorch ops ms/iter | compiled ops ms/iter | compiled / PyTorch | '
             'peak MB (PyTorch) | peak MB (compiled) |', '|---' * 7 + '|']
    for row in rows:
        pytorch, compiled = row['pytorch_ops'], row['compiled_ops']
        lines.append(f"| {row['model']} | {pytorch.get('device', compiled.get('device', ''))} | "
                     f"{cell(pytorch, 'ms_per_iter_median')} | {cell(compiled, 'ms_per_iter_median')} | "
                     f"{row.get('compiled_over_pytorch', '')} | {pytorch.get('peak_mem_mb', '')} | "
                     f"{compiled.get('peak_mem_mb', '')} |")
    os.makedirs(report_dir, exist_ok=True)
    path = os.path.join(report_dir, 'ops_modes.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('step', choices=('environment', 'other-models', 'compiled-wheel', 'compare-modes'))
    parser.add_argument('models', nargs='*')
    parser.add_argument('--compiled-python', help='compare-modes: the Python of the MMCV_OPS=compiled venv')
    parser.add_argument('--report-dir', default=REPORT_DIR)
    args, extra = parser.parse_known_args(argv)  # (compare-modes passes the rest to tools/benchmark.py)
    if args.step == 'environment':
        print(*environment(), sep='\n')
    elif args.step == 'other-models':
        print(*other_models(args.models), sep='\n')
    elif args.step == 'compiled-wheel':
        wheel = compiled_wheel()
        if wheel:
            print(wheel)
    else:
        rows = compare_modes(args.compiled_python, args.models or OPS_MODELS, extra, args.report_dir)
        return 1 if any('compiled_over_pytorch' not in row for row in rows) else 0
    return 0


if __name__ == '__main__':
    sys.exit(main())
