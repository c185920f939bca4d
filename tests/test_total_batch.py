"""--total-batch N: the official images per optimizer step on fewer GPUs, by accumulating gradients."""
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from conftest import run_script, user_error


def _printed(tmp_path, *args, env=None):
    result = run_script('fcn', '--print-config', *args, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    (tmp_path / 'c.py').write_text(result.stdout)
    return Config.fromfile(str(tmp_path / 'c.py')), result.stderr


def test_one_process_accumulates_over_8_iterations(tmp_path):
    cfg, log = _printed(tmp_path, '--total-batch', 16)
    assert cfg.optim_wrapper.accumulative_counts == 8
    assert cfg.train_dataloader.batch_size == 2
    # 80k optimizer steps as in the recipe = 640k iterations; schedule, validation and checkpoints follow
    assert cfg.train_cfg.max_iters == 640_000 and cfg.param_scheduler[-1].end == 640_000
    assert cfg.train_cfg.val_interval == cfg.default_hooks.checkpoint.interval == 32_000
    assert 'BatchNorm still normalises over 2 images per GPU' in log


def test_as_many_processes_as_torchrun_starts_are_counted(tmp_path):
    # (a real two-process run: tests/test_distributed.py)
    cfg, _ = _printed(tmp_path, '--total-batch', 16, env={'WORLD_SIZE': '2'})
    assert cfg.optim_wrapper.accumulative_counts == 4 and cfg.train_cfg.max_iters == 320_000


def test_auto_scale_lr_counts_the_accumulated_images(tiny_ade, tmp_path):
    run = run_script('fcn', '--smoke', '--iters', 1, '--total-batch', 8, '--auto-scale-lr', '--work-dir', tmp_path / 'w')
    assert run.returncode == 0, run.stderr[-3000:]
    assert 'Scaling the original LR by 0.5' in run.stdout + run.stderr  # 8 images per step vs the official 16


def test_a_total_that_is_not_a_multiple_is_refused():
    user_error(run_script('fcn', '--print-config', '--total-batch', 15), '--total-batch 15 is not a multiple of 2',
               '--total-batch 14')


def test_one_optimizer_step_per_8_iterations(tiny_ade, tmp_path):
    from training.experiments import load_script
    from training.run_config import build_config
    from training.project_runner import build_runner

    class WeightsChanged(Hook):
        """Iterations after which the first conv's weights differ from before them."""

        def __init__(self):
            self.changed, self.before = [], None

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.before = runner.model.backbone.conv1.weight.detach().clone()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if not torch.equal(self.before, runner.model.backbone.conv1.weight):
                self.changed.append(runner.iter + 1)  # runner.iter counts from 0 inside the step

    script = load_script('fcn')
    cfg, _ = build_config(script.config, script.OFFICIAL, ['--smoke', '--iters', '2', '--total-batch', '16'])
    cfg.work_dir = str(tmp_path / 'run')
    cfg.default_hooks.checkpoint = None
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    runner, _ = build_runner(cfg)
    recorder = WeightsChanged()
    runner.register_hook(recorder)
    runner.train()
    assert runner.iter == 16 and recorder.changed == [8, 16]
