"""`MMCV_OPS=compiled make install`: MMCV's own op library built from source by tools/install.sh into a second venv,
the project's pure-PyTorch ops (the default install's, which the suite's own venv has) against its compiled CPU
kernel, and the models that call MMCV's ops training on it.

The second venv keeps this venv's torch and packages (SYSTEM_TORCH=1 with this venv's Python, which is itself a
venv, as on GPU images): only MMCV is installed into it. Its wheel is built once per machine and cached outside the
repository (~/.cache/ade20k-seg/mmcv-wheels, the install's own cache): about 15 minutes on 2 cores the first time,
a minute after that."""
import json
import math
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, scalars
from script_server import ScriptServer

MODELS = ['psanet', 'mask2former', 'maskformer']  # the three that call MMCV's ops
pytestmark = [pytest.mark.xdist_group('compiled_ops_venv'),  # one venv, one server: one test process
              pytest.mark.slow(3)]  # (minutes, all together, with the wheel cached)


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    directory = tmp_path_factory.mktemp('compiled-ops') / 'venv'
    started = time.perf_counter()
    install = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, capture_output=True, text=True, timeout=3600,
                             env={**os.environ, 'VENV': str(directory), 'MMCV_OPS': 'compiled', 'SYSTEM_TORCH': '1',
                                  'PYTHON': sys.executable})
    print(f'MMCV_OPS=compiled install into a second venv: {time.perf_counter() - started:.0f} s')
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    last_lines = install.stdout.splitlines()[-2]
    assert 'MMCV ops: compiled CPU' in last_lines and '`make install`' in last_lines  # and the way back
    return directory


@pytest.fixture(scope='module')
def server(venv):
    server = ScriptServer(str(venv / 'bin' / 'python'))
    yield server
    server.close()


def _python(venv, code):
    return subprocess.run([str(venv / 'bin' / 'python'), '-c', code], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_the_second_venv_has_mmcvs_compiled_library(venv):
    result = _python(venv, 'import mmseg.models, mmcv._ext\nfrom training.mmcv_ops import ops_kind\n'
                           'print(mmcv._ext.__file__, ops_kind())')
    assert result.returncode == 0, result.stderr[-3000:]
    path, kind = result.stdout.split(maxsplit=1)
    assert path.endswith('.so') and path.startswith(str(venv)) and kind.strip() == 'compiled CPU'


# ---- PSAMask: the pure-PyTorch ops against MMCV's compiled CPU kernel (tests/psamask_vs_compiled.py) ---------------
PSAMASK_SHAPES = [  # (batch, feature h, w, mask h, w): square, odd, mask larger than the map, 1x1, PSANet's 59x59
    (2, 6, 7, 3, 5), (1, 4, 4, 9, 9), (1, 1, 1, 1, 1), (2, 5, 3, 7, 7), (1, 12, 12, 23, 23)]


@pytest.mark.parametrize('psa_type', [0, 1], ids=['collect', 'distribute'])
@pytest.mark.parametrize('shape', PSAMASK_SHAPES, ids=str)
def test_psamask_equals_the_compiled_kernel(shape, psa_type, server, venv):
    result = server.run(['tests/psamask_vs_compiled.py', *shape, psa_type], REPO, dict(os.environ), 300)
    assert result.returncode == 0, result.stderr[-3000:]
    compared = json.loads(result.stdout.strip().splitlines()[-1])
    assert compared['compiled'].endswith('.so') and compared['compiled'].startswith(str(venv))
    assert compared['forward_abs_sum'] > 0
    assert compared['forward_max_diff'] <= 1e-5 and compared['backward_max_diff'] <= 1e-5, compared


# ---- the models that call MMCV's ops, on the compiled library ------------------------------------------------------
@pytest.fixture(scope='module')
def smoke_runs(server, tmp_path_factory, tiny_ade):
    runs = {}

    def run(model):
        if model not in runs:
            work_dir = tmp_path_factory.mktemp('compiled-ops-runs') / model
            runs[model] = work_dir, server.run([f'train_{model}.py', '--smoke', '--work-dir', work_dir], REPO,
                                               dict(os.environ), 900)
        return runs[model]
    return run


@pytest.mark.parametrize('model', MODELS)
def test_smoke_on_the_compiled_ops(model, smoke_runs):
    work_dir, result = smoke_runs(model)
    assert result.returncode == 0, result.stderr[-5000:]
    log = result.stdout + result.stderr
    assert 'MMCV ops: compiled CPU' in log and 'make install' in log  # the run log says which, and the other way
    losses = [r['loss'] for r in scalars(work_dir) if 'loss' in r]
    assert len(losses) == 4 and all(math.isfinite(loss) for loss in losses)
    assert (work_dir / 'iter_4.pth').is_file()


# ---- tools/gpu_report.sh's comparison of the two kinds, here on the CPU ---------------------------------------------
def test_the_gpu_report_finds_the_compiled_wheel_and_compares_both_kinds_of_ops(venv, tmp_path):
    wheel = subprocess.run([sys.executable, '-m', 'training.measure.gpu_report', 'compiled-wheel'], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert wheel.returncode == 0, wheel.stderr[-3000:]
    assert wheel.stdout.strip().endswith('.whl') and '-cpu/mmcv-2.1.0-' in wheel.stdout  # the one the venv took
    compared = subprocess.run([sys.executable, '-m', 'training.measure.gpu_report', 'compare-modes', 'psanet',
                               '--compiled-python', str(venv / 'bin' / 'python'), '--report-dir', str(tmp_path),
                               '--iters', '2', '--warmup', '1', '--crop', '64'], cwd=REPO, capture_output=True,
                              text=True, timeout=900)
    assert compared.returncode == 0, compared.stdout[-3000:] + compared.stderr[-3000:]
    row = json.loads(compared.stdout.strip().splitlines()[-1])
    assert row['model'] == 'psanet' and row['compiled_over_pytorch'] > 0
    assert row['pytorch_ops']['ms_per_iter_median'] > 0 and row['compiled_ops']['ms_per_iter_median'] > 0
    assert '| psanet | CPU x' in (tmp_path / 'ops_modes.md').read_text()
