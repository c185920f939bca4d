"""From a script's config to Runner.train(): the command line on top, the checks, the launch, the Runner.

Precedence, later wins: official recipe < configs/<model>.py < protocol (common.apply_protocol) < the
script's knobs < command-line flags < --cfg-options. Nothing here overrides a script's value except a flag
the user typed; --print-config shows the result.
"""
import sys

import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from . import compat, mmcv_ops, speed
from .checkpoints import (best_checkpoint, from_plain_types, iter_of, last_good_checkpoint, shown,
                          to_plain_types)
from .config import (data_root_of, drop_pretrained, set_data_root, set_max_iters, sync_pipelines,
                     use_cpu_safe_optim_wrapper)
from .dataset_check import check_data
from .errors import UserError, exit_code
from .experiments import name_of_config_function
from .faults import checkpoint_bytes, explained_faults, warn_if_disk_is_short
from .launch import check_device, leave_distributed, set_up_distributed, world_size
from .pretrained import check_loaded, prepare_for
from .preemption import StopOnSignal, exit_status, leave_stop_signals_to_the_run
from .resume import KEEP, STRETCH, check_same_training, continue_with_new_config, set_up_resume
from .smoke import apply_smoke

DEFAULT_WORK_DIR = 'work_dirs/{name}'  # where a script that skips the protocol trains


# ---- the command line on top of the script ----------------------------------------------------
def apply_command_line(cfg, args, name, official):
    """The flags of `args` on the config a script built (its knobs already in), then --cfg-options."""
    sync_pipelines(cfg)  # the script's pipeline edits reach the loaders (and the other way round)
    cfg.work_dir = (cfg.get('work_dir') or DEFAULT_WORK_DIR).format(name=name)
    cfg.train_cfg.type = 'FastResumeLoop'  # IterBasedTrainLoop that resumes in seconds (resume.py)
    cfg.vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
    cfg.visualizer.vis_backends = [dict(backend) for backend in cfg.vis_backends]
    cfg.launcher = 'none'
    speed.apply(cfg, args)
    if args.smoke:
        apply_smoke(cfg, name, args.iters)
        args.no_pretrain = args.no_pretrain or not args.pretrain  # an explicit --pretrain still loads
    elif args.iters:
        set_max_iters(cfg, args.iters)
    if args.channels_last:
        cfg.channels_last = True  # read by ProjectRunner.wrap_model
    # at least one validation and one checkpoint, also in runs shorter than the interval
    cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, cfg.train_cfg.max_iters)
    cfg.default_hooks.checkpoint.interval = min(cfg.default_hooks.checkpoint.interval, cfg.train_cfg.max_iters)
    if args.total_batch:
        accumulate_to_total_batch(cfg, args.total_batch, name)
    if args.auto_scale_lr:  # MMEngine multiplies the LR by the actual total batch / base_batch_size
        if not official.get('total_batch'):
            raise UserError(f'train_{name}.py does not state OFFICIAL["total_batch"]; --auto-scale-lr needs it.')
        # MMEngine's real batch is GPUs x batch per GPU; with --total-batch each step sees `counts` times more
        counts = cfg.optim_wrapper.get('accumulative_counts', 1)
        cfg.auto_scale_lr = dict(enable=True, base_batch_size=official['total_batch'] / counts if counts > 1
                                 else official['total_batch'])
    if args.no_pretrain:
        drop_pretrained(cfg.model)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = args.work_dir.replace('{name}', name)  # (run_all.py gives every script one pattern)
    cfg.merge_from_dict(args.cfg_options)
    sync_pipelines(cfg)
    return cfg


def accumulate_to_total_batch(cfg, total_batch, name):
    """--total-batch N: the batch per GPU stays, gradients accumulate over N / (GPUs x batch) iterations, and
    iterations, schedule, validation and checkpoints are counted in optimizer steps as in the official recipe."""
    per_step = world_size() * cfg.train_dataloader.batch_size
    if total_batch % per_step:
        raise UserError(f'--total-batch {total_batch} is not a multiple of {per_step} (= {world_size()} GPU(s) x '
                        f'{cfg.train_dataloader.batch_size} images per GPU of train_{name}.py): gradients can only '
                        f'be accumulated over whole iterations. Use e.g. --total-batch {per_step * max(1, total_batch // per_step)}.')
    counts = total_batch // per_step
    if counts == 1:
        return
    cfg.optim_wrapper.accumulative_counts = counts
    set_max_iters(cfg, cfg.train_cfg.max_iters * counts)
    cfg.train_cfg.val_interval *= counts
    cfg.default_hooks.checkpoint.interval *= counts
    print(f'--total-batch {total_batch}: {world_size()} GPU(s) x {cfg.train_dataloader.batch_size} images, gradients '
          f'accumulated over {counts} iterations per optimizer step; {cfg.train_cfg.max_iters // counts} optimizer '
          f'steps = {cfg.train_cfg.max_iters} iterations. Not reproduced: BatchNorm still normalises over '
          f'{cfg.train_dataloader.batch_size} images per GPU, not {total_batch}.', file=sys.stderr)


def build_config(config_function, official, argv=None):
    """The resolved config of a script's config() with the command line `argv` (tools, tests), and the args."""
    from .cli import parse_args
    name = name_of_config_function(config_function)
    args = parse_args(name, argv or [])
    return apply_command_line(config_function(), args, name, official), args


# ---- the Runner --------------------------------------------------------------------------------
class ProjectRunner(Runner):
    """MMEngine's Runner with the project's differences: channels-last before DDP wraps the model,
    --resume-with-new-config (resume.continue_with_new_config), and loader workers that leave SIGTERM/SIGINT to
    the training process (preemption.py)."""

    continue_with_new_config = False

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        return leave_stop_signals_to_the_run(Runner.build_dataloader(dataloader, seed, diff_rank_seed))

    def wrap_model(self, model_wrapper_cfg, model):
        if self.cfg.get('channels_last'):  # before DDP: its gradient buckets then have the NHWC strides
            model = model.to(memory_format=torch.channels_last)
        return super().wrap_model(model_wrapper_cfg, model)

    def resume(self, filename, *args, **kwargs):
        if not self.continue_with_new_config:
            return super().resume(filename, *args, **kwargs)
        from mmengine.runner.checkpoint import _load_checkpoint
        with compat.trusting_own_checkpoint():  # checkpoints written before plain types
            checkpoint = _load_checkpoint(filename, map_location='cpu')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        continue_with_new_config(self, filename, checkpoint)


class PlainCheckpoints(Hook):
    """Checkpoints in plain types (torch.load(weights_only=True) and mmseg.apis.init_model open them), turned
    back into MMEngine's objects when the run resumes (checkpoints.py)."""

    def before_save_checkpoint(self, runner, checkpoint):
        for key in list(checkpoint):
            checkpoint[key] = to_plain_types(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint):
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = from_plain_types(checkpoint['message_hub'])


def build_runner(cfg, source=None, name=None):
    """The Runner of `cfg` with the project's run-time hooks: the pretrained-weights count and the CUDA-kernel
    check before the first step (`source` from pretrained.prepare_for), the stop on a non-finite loss, plain-type
    checkpoints, the last validation's metrics (filled into the returned dict). tools/benchmark.py times this
    same Runner."""
    from mmengine.model import is_model_wrapper
    mmcv_ops.make_ops_amp_safe()
    final_metrics = {}

    class ProtocolHooks(Hook):
        def before_train(self, runner):
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            runner.logger.info(mmcv_ops.ops_line())
            if source is not None:  # after init_weights, before the first step
                runner.logger.info(check_loaded(model.backbone, source))
                source.clear()  # the file's tensors are no longer needed
            if next(model.parameters()).is_cuda:
                mmcv_ops.check_cuda_kernels(model, name or 'this model')

        def after_val_epoch(self, runner, metrics=None):
            final_metrics.clear()
            final_metrics.update(metrics or {})

    class StopOnNonFiniteLoss(Hook):
        """Runs before the checkpoint hook: a diverged model is never saved over a good checkpoint."""

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            loss = (outputs or {}).get('loss')
            if loss is not None and not torch.isfinite(loss).all():
                kept = last_good_checkpoint(runner.work_dir)
                raise UserError(
                    f'The loss became {float(loss.detach())} at iteration {runner.iter + 1}: training stopped. '
                    + (f'The last good checkpoint, {kept}, is kept and a rerun continues from it. ' if kept else
                       'No checkpoint was written yet. ')
                    + 'Common causes: a learning rate too high for this batch size (try --cfg-options '
                    'optim_wrapper.optimizer.lr=<smaller>), or --amp overflow (try without --amp).')

    runner = ProjectRunner.from_cfg(cfg)
    runner.register_hook(StopOnNonFiniteLoss(), priority='VERY_HIGH')
    runner.register_hook(ProtocolHooks(), priority='LOWEST')
    runner.register_hook(PlainCheckpoints(), priority='LOWEST')
    runner.register_hook(StopOnSignal())  # last: after the CheckpointHook of the same iteration
    return runner, final_metrics


def build_model(cfg):
    """The model of `cfg`, built and initialised as the Runner would (pretrained weights loaded)."""
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


# ---- a run -------------------------------------------------------------------------------------
def run(name, config_function, official, args):
    cfg = apply_command_line(config_function(), args, name, official)
    if args.print_config:
        print(cfg.pretty_text)
        return 0
    if args.check_pretrain:
        source = prepare_for(cfg, name, args.pretrain, download=not args.no_download)
        if source is None:
            print(f'{name}: train_{name}.py loads no pretrained weights (trained from scratch)')
            return 0
        print(check_loaded(build_model(cfg).backbone, source))
        return 0

    check_data(data_root_of(cfg), name, generate_tiny=args.smoke)
    check_device(args.smoke, args.allow_cpu)
    use_cpu_safe_optim_wrapper(cfg)
    if args.amp and cfg.optim_wrapper.type != 'AmpOptimWrapper':
        raise UserError('--amp needs a CUDA GPU, and none is visible here (torch.cuda.is_available() is False). '
                        'Run without --amp.')
    speed.set_tf32(not args.no_tf32)
    set_up_distributed(cfg)
    checkpoint = set_up_resume(cfg, args.restart)
    changes, schedule = [], None
    if checkpoint:
        done = iter_of(checkpoint)
        if done >= cfg.train_cfg.max_iters:
            print(f'{cfg.work_dir} is already trained to {done} iterations (max {cfg.train_cfg.max_iters}). '
                  f'Use --iters to train longer or --restart to start over.', file=sys.stderr)
            return 0
        changes, schedule = check_same_training(cfg, checkpoint, f'train_{name}.py', args.resume_with_new_config,
                                                STRETCH if args.stretch_schedule else KEEP if args.keep_schedule
                                                else None)
        print(f'continuing from {checkpoint} (use --restart to start over)', file=sys.stderr)
        drop_pretrained(cfg.model)  # the checkpoint overwrites the backbone anyway
    source = prepare_for(cfg, name, args.pretrain, download=not args.no_download)

    runner, final_metrics = build_runner(cfg, source, name)
    runner.continue_with_new_config = bool(changes) or bool(schedule and schedule[0] == STRETCH)
    if schedule:
        runner.logger.info(schedule[1])
    checkpoint_size = checkpoint_bytes(runner.model, cfg.optim_wrapper)
    if runner.rank == 0:  # (the process that writes the checkpoints)
        warn_if_disk_is_short(runner.work_dir, checkpoint_size)
    stop = next(hook for hook in runner.hooks if isinstance(hook, StopOnSignal))
    with stop.installed(), explained_faults(runner.work_dir, checkpoint_size, cfg.train_dataloader.num_workers):
        runner.train()
    leave_distributed()
    if stop.stopped_by:
        return exit_status(stop.stopped_by)
    if final_metrics and runner.rank == 0:
        best = best_checkpoint(cfg.work_dir)
        print(f'mIoU: {final_metrics["mIoU"]:.2f} after {cfg.train_cfg.max_iters} iterations; '
              f'checkpoint: {shown(last_good_checkpoint(cfg.work_dir))}' + (f'; best: {shown(best)}' if best else ''))
    return 0


def _run_explaining_oom(name, config_function, official, args):
    try:
        return run(name, config_function, official, args)
    except torch.OutOfMemoryError as error:
        raise UserError(
            f'CUDA ran out of memory ({str(error).splitlines()[0][:160]}). Try --amp, or a smaller batch per GPU '
            f'(batch_size in train_{name}.py, with --total-batch to keep the images per optimizer step), or fewer '
            f'processes per GPU. Nothing was lost: the same command continues from the last checkpoint.') from error


def train(config_function, official, argv=None):
    """Entry point of every train_<name>.py: its config() and OFFICIAL, the command line, then Runner.train()."""
    from .cli import parse_args
    name = name_of_config_function(config_function)
    args = parse_args(name, argv)
    sys.exit(exit_code(lambda: _run_explaining_oom(name, config_function, official, args), args.debug))
