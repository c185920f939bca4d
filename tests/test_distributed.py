"""`torchrun --nproc_per_node=2 train_<m>.py` works without extra flags, here on CPU with gloo."""
import subprocess
import sys

import pytest

from conftest import REPO, final_miou, scalars

pytestmark = pytest.mark.slow(1)  # (minutes; the longest start first: conftest.py)


def _torchrun(*args):
    return subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                           'train_fcn.py', *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=900)


def test_two_processes_train_and_resume(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    first = _torchrun('--smoke', '--iters', 2, '--work-dir', work_dir)
    assert first.returncode == 0, first.stderr[-5000:]
    assert 'Distributed training: True' in first.stdout + first.stderr
    assert 'MMDistributedDataParallel' in first.stdout + first.stderr  # (SyncBN on CPU would have raised)
    assert sum(line.startswith('mIoU: ') for line in first.stdout.splitlines()) == 1  # rank 0 reports
    final_miou(first.stdout)

    second = _torchrun('--smoke', '--iters', 4, '--work-dir', work_dir, '--stretch-schedule')
    assert second.returncode == 0, second.stderr[-5000:]
    assert f'continuing from {work_dir}/iter_2.pth' in second.stderr
    assert (work_dir / 'iter_4.pth').is_file()
    assert [r['step'] for r in scalars(work_dir) if 'loss' in r] == [1, 2, 3, 4]


def test_two_processes_accumulate_to_the_total_batch(tiny_ade, tmp_path):
    import torch
    from mmengine.config import Config
    run = _torchrun('--smoke', '--iters', 1, '--total-batch', 16, '--work-dir', tmp_path / 'fcn')
    assert run.returncode == 0, run.stderr[-5000:]
    # 2 processes x 2 images x 4 accumulated iterations = 16 images per optimizer step; 1 step = 4 iterations
    checkpoint = torch.load(tmp_path / 'fcn' / 'iter_4.pth', weights_only=True)
    assert Config.fromstring(checkpoint['meta']['cfg'], '.py').optim_wrapper.accumulative_counts == 4
