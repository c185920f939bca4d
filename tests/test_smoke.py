"""`--smoke` trains every model a few iterations on the tiny subset (CPU), validates and checkpoints; with --amp too
(bf16 autocast on the CPU: precision.py), so that every model's mixed-precision path is trained here, not first on a
user's GPU."""
import math
import os

import pytest
import torch

from conftest import MODELS, final_miou, run_script, scalars
from training import mmcv_ops


def assert_smoke_trained(work_dir, result):
    assert result.returncode == 0, result.stderr[-5000:]
    losses = [r['loss'] for r in scalars(work_dir) if 'loss' in r]
    assert len(losses) == 4 and all(math.isfinite(loss) for loss in losses)
    assert os.path.isfile(work_dir / 'iter_4.pth')
    assert 0 <= final_miou(result.stdout) <= 100
    assert mmcv_ops.ops_line() in result.stdout + result.stderr  # the log says which MMCV ops, and how to get the other


# No best checkpoint but FCN's (the fcn_smoke fixture, which other tests read): writing it costs two writes of the
# model, as MMEngine writes the last checkpoint again at each new best (SETR's 1.2 + 2.4 GB), and how it is written
# does not depend on the model.
NO_BEST = ('--cfg-options', 'default_hooks.checkpoint.save_best=None')


@pytest.mark.parametrize('model', MODELS)
def test_smoke(model, tiny_ade, tmp_path, request):
    if model == 'fcn':  # the same command, run once for this test and the ones that read its checkpoint
        work_dir, result = request.getfixturevalue('fcn_smoke')
        assert list(work_dir.glob('best_mIoU_iter_4.pth'))
    else:
        work_dir = tmp_path / model
        result = run_script(model, '--smoke', '--work-dir', work_dir, *NO_BEST)
    assert_smoke_trained(work_dir, result)


@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU\'s bf16 autocast')
@pytest.mark.parametrize('model', MODELS)
def test_smoke_amp(model, tiny_ade, tmp_path):
    work_dir = tmp_path / model
    result = run_script(model, '--smoke', '--amp', '--no-val-report', '--work-dir', work_dir, *NO_BEST)
    assert_smoke_trained(work_dir, result)
    assert not list(work_dir.glob('best_*.pth'))
    assert 'precision: bfloat16 autocast on the CPU' in result.stdout + result.stderr
    weights = torch.load(work_dir / 'iter_4.pth', weights_only=True)['state_dict']
    assert not [key for key, value in weights.items() if value.is_floating_point() and value.dtype != torch.float32]
