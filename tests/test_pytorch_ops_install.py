"""`MMCV_OPS=pytorch make install`: MMCV without compiled ops plus the project's pure-PyTorch `_ext`, installed by
tools/install.sh into a second venv, and the models that call MMCV's ops training on it.

The second venv keeps this venv's torch and packages (SYSTEM_TORCH=1 with this venv's Python, which is itself a
venv, as on GPU images): only MMCV is installed into it, so the install under test is the MMCV step, in minutes."""
import math
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO, scalars
from script_server import ScriptServer

MODELS = ['psanet', 'mask2former', 'maskformer', 'fcn']  # the three that call MMCV's ops, and one that does not
pytestmark = [pytest.mark.xdist_group('pytorch_ops_venv'),  # one venv, one server: one test process
              pytest.mark.slow(3)]  # (minutes, all together)


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    directory = tmp_path_factory.mktemp('pytorch-ops') / 'venv'
    started = time.perf_counter()
    install = subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, capture_output=True, text=True, timeout=1200,
                             env={**os.environ, 'VENV': str(directory), 'MMCV_OPS': 'pytorch', 'SYSTEM_TORCH': '1',
                                  'PYTHON': sys.executable})
    print(f'MMCV_OPS=pytorch install into a second venv: {time.perf_counter() - started:.0f} s')
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert 'MMCV ops: pure PyTorch' in install.stdout.splitlines()[-2]  # the install's last lines say so
    return directory, install


@pytest.fixture(scope='module')
def server(venv):
    server = ScriptServer(str(venv[0] / 'bin' / 'python'))
    yield server
    server.close()


def _python(venv, code):
    return subprocess.run([str(venv[0] / 'bin' / 'python'), '-c', code], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_mmseg_imports_on_the_pytorch_ops(venv):
    result = _python(venv, 'import mmseg.models, mmcv._ext; print(mmcv._ext.__file__, mmcv._ext.KIND)')
    assert result.returncode == 0, result.stderr[-3000:]
    path, kind = result.stdout.split()
    assert kind == 'pytorch' and path == str(next(venv[0].glob('lib/python*/site-packages/mmcv/_ext.py')))


@pytest.fixture(scope='module')
def smoke_runs(server, tmp_path_factory, tiny_ade):
    runs = {}

    def run(model):
        if model not in runs:
            work_dir = tmp_path_factory.mktemp('pytorch-ops-runs') / model
            runs[model] = work_dir, server.run([f'train_{model}.py', '--smoke', '--work-dir', work_dir], REPO,
                                               dict(os.environ), 900)
        return runs[model]
    return run


@pytest.mark.parametrize('model', MODELS)
def test_smoke_on_the_pytorch_ops(model, smoke_runs):
    work_dir, result = smoke_runs(model)
    assert result.returncode == 0, result.stderr[-5000:]
    assert 'MMCV ops: pure PyTorch' in result.stdout + result.stderr  # the run log says which ops
    losses = [r['loss'] for r in scalars(work_dir) if 'loss' in r]
    assert len(losses) == 4 and all(math.isfinite(loss) for loss in losses)
    assert (work_dir / 'iter_4.pth').is_file()


def test_an_op_without_a_pytorch_version_explains_itself(venv):
    result = _python(venv, 'import torch\nfrom mmcv.ops import nms\nnms(torch.rand(3, 4), torch.rand(3), 0.5)')
    assert result.returncode != 0
    message = result.stderr.strip().splitlines()[-1]
    assert "MMCV's nms was called" in message and 'MMCV_OPS=pytorch' in message and 'make install' in message


def test_mmsegs_own_test_tool_runs_on_a_smoke_checkpoint(venv, smoke_runs, tmp_path):
    import mmseg
    import torch
    work_dir, result = smoke_runs('psanet')  # PSAMask: the op that runs on the CPU too
    assert result.returncode == 0, result.stderr[-3000:]
    checkpoint = work_dir / 'iter_4.pth'
    config = tmp_path / 'psanet_smoke.py'
    config.write_text(torch.load(checkpoint, weights_only=True)['meta']['cfg'])
    tool = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')
    test = subprocess.run([str(venv[0] / 'bin' / 'python'), tool, str(config), str(checkpoint), '--work-dir',
                           str(tmp_path / 'test')], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr
