"""The command line on top of a script's config: the flags a user typed, then --cfg-options.

Precedence, later wins: official recipe < configs/<model>.py < protocol (common.apply_protocol) < the
script's knobs < command-line flags < --cfg-options. Nothing here overrides a script's value except a flag
the user typed; --print-config shows the result.
"""
import sys

from . import speed, visualization
from .cli import parse_args
from .config import drop_pretrained, set_data_root, set_max_iters, sync_pipelines
from .errors import UserError
from .experiments import name_of_config_function
from .launch import world_size
from .reproducibility import set_seed
from .resume.fast_loop import FastResumeLoop
from .smoke import apply_smoke

DEFAULT_WORK_DIR = 'work_dirs/{name}'  # where a script that skips the protocol trains


def script_command_line(config_function, argv=None):
    """(the experiment's name, its parsed command line) of the script that defines `config_function`."""
    name = name_of_config_function(config_function)
    return name, parse_args(name, argv)


def apply_command_line(cfg, args, name, official):
    """The flags of `args` on the config a script built (its knobs already in), then --cfg-options."""
    sync_pipelines(cfg)  # the script's pipeline edits reach the loaders (and the other way round)
    cfg.work_dir = (cfg.get('work_dir') or DEFAULT_WORK_DIR).format(name=name)
    cfg.train_cfg.type = FastResumeLoop.__name__  # IterBasedTrainLoop that resumes in seconds (registered)
    cfg.vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
    cfg.visualizer.vis_backends = [dict(backend) for backend in cfg.vis_backends]
    cfg.launcher = 'none'
    speed.apply(cfg, args)
    if args.smoke:
        apply_smoke(cfg, name, args.iters)
        args.no_pretrain = args.no_pretrain or not args.pretrain  # an explicit --pretrain still loads
    elif args.iters:
        set_max_iters(cfg, args.iters)
    set_seed(cfg, args.seed, args.deterministic)
    cfg.val_report = dict(images=0, per_class=False) if args.no_val_report else dict(
        visualization.DEFAULT, **(cfg.get('val_report') or {}))
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
    name, args = script_command_line(config_function, argv or [])
    return apply_command_line(config_function(), args, name, official), args
