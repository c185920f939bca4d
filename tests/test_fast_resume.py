"""Resuming skips sampler indices instead of replaying batches: the next step comes as fast at
iteration 100,000 as at iteration 2, on the samples an uninterrupted run sees."""
import itertools
import os
import time

import pytest
import torch
from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook

from training.config import drop_pretrained
from training.experiments import load_script
from training.resume.start_point import set_up_resume
from training.run_config import build_config
from training.project_runner import build_runner

pytestmark = pytest.mark.slow(1)  # (minutes; the longest start first: conftest.py)


class RecordBatches(Hook):
    """Which images each training step saw, and when the first step started."""

    def __init__(self):
        self.batches, self.first_step_at = [], None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.first_step_at = self.first_step_at or time.perf_counter()
        self.batches.append((runner.iter + 1, [os.path.basename(s.img_path) for s in data_batch['data_samples']]))


def _train(work_dir, iters, seed=1234):
    script = load_script('fcn')
    cfg, _ = build_config(script.config, script.OFFICIAL, ['--smoke', '--iters', str(iters), '--work-dir', str(work_dir)])
    cfg.randomness = dict(seed=seed)
    cfg.experiment_name = f'{os.path.basename(work_dir)}-{iters}-{time.time_ns()}'  # own logger and message hub
    if set_up_resume(cfg, restart=False):
        drop_pretrained(cfg.model)
    runner, _ = build_runner(cfg)
    recorder = RecordBatches()
    runner.register_hook(recorder)
    started = time.perf_counter()
    runner.train()
    return recorder.batches, recorder.first_step_at - started


def test_interrupted_run_sees_the_same_batches(tiny_ade, tmp_path):
    uninterrupted, _ = _train(tmp_path / 'once', 5)
    first, _ = _train(tmp_path / 'twice', 2)
    second, _ = _train(tmp_path / 'twice', 5)  # continues from iter_2.pth
    assert [step for step, _ in second] == [3, 4, 5]
    assert first + second == uninterrupted


def test_time_to_next_step_does_not_grow_with_the_iteration(tiny_ade, tmp_path):
    _train(tmp_path / 'run', 2)
    _, early = _train(tmp_path / 'run', 3)  # resume at iteration 2

    # the same checkpoint, as if written at iteration 100,000 of a long run
    checkpoint = torch.load(tmp_path / 'run' / 'iter_2.pth', weights_only=False)
    checkpoint['meta']['iter'] = 100_000
    torch.save(checkpoint, tmp_path / 'run' / 'iter_100000.pth')
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(tmp_path / 'run' / 'iter_100000.pth'))
    batches, late = _train(tmp_path / 'run', 100_001)
    assert late < early + 5, (early, late)  # replaying 100,000 batches would take minutes

    # and the step after 100,000 draws the sampler's indices 200,000 and 200,001 (batch 2)
    dataset = InfiniteSampler(list(range(32)), seed=1234)
    expected = list(itertools.islice(dataset.indices, 200_000, 200_002))
    assert batches[0][0] == 100_001
    assert batches[0][1] == [f'ADE_train_{i + 1:08d}.jpg' for i in expected]
