"""`torchrun --nproc_per_node=2 train_<m>.py` with --total-batch, here on CPU with gloo (two processes training and
continuing: test_multinode.py)."""
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow(1)  # (minutes; the longest start first: conftest.py)


def _torchrun(*args):
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                           'train_fcn.py', *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900)


def test_two_processes_accumulate_to_the_total_batch(tiny_ade, tmp_path):
    import torch
    from mmengine.config import Config
    run = _torchrun('--smoke', '--iters', 1, '--total-batch', 16, '--work-dir', tmp_path / 'fcn')
    assert run.returncode == 0, run.stderr[-5000:]
    # 2 processes x 2 images x 4 accumulated iterations = 16 images per optimizer step; 1 step = 4 iterations
    checkpoint = torch.load(tmp_path / 'fcn' / 'iter_4.pth', weights_only=True)
    assert Config.fromstring(checkpoint['meta']['cfg'], '.py').optim_wrapper.accumulative_counts == 4
