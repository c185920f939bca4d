"""A training run, step by step: train() is the entry point of every train_<name>.py.

    the run's config, assembled in one place (run_config.py: the script, policy, flags, --cfg-options, this machine,
    where to start, pretrained weights) -> (--print-config prints it / --check-pretrain) -> the Runner ->
    Runner.train() under the fault and signal handlers -> the line that says the result

The pieces live in their own modules: run_config (the config), project_runner (the Runner and its hooks), resume
(continuing), preemption and faults (what ends a run), pretrained, launch (processes, device).
"""
import sys

import torch

from .checkpoints import best_checkpoint, last_good_checkpoint, shown
from .errors import UserError, exit_code
from .faults import checkpoint_bytes, explained_faults, warn_if_disk_is_short
from .launch import abandon_distributed, described_layout, leave_distributed
from .lost_peers import explained_lost_peers
from .preemption import StopOnSignal, exit_status
from .pretrained import check_loaded, prepare_for
from .project_runner import build_model, build_runner
from .run_config import assemble, printed, script_command_line, script_config


def run(name, config_function, official, args):
    """One run of train_<name>.py with the command line `args`; returns the exit status."""
    if args.print_config:
        print(printed(assemble(name, config_function, official, args, preview=True), args))
        return 0
    if args.check_pretrain:
        return check_pretrain(name, config_function, official, args)
    run_config = assemble(name, config_function, official, args)
    cfg, start = run_config.cfg, run_config.start
    if start.trained_to_the_end:
        print(f'{cfg.work_dir} is already trained to {start.iteration} iterations (max {cfg.train_cfg.max_iters}). '
              f'Use --iters to train longer or --restart to start over.', file=sys.stderr)
        return 0
    if start.checkpoint:
        print(f'continuing from {start.checkpoint} (use --restart to start over)', file=sys.stderr)
    runner, last_validation = build_runner(cfg, run_config.pretrained, name)
    if runner.world_size > 1:
        runner.logger.info(described_layout())
    if start.schedule_note:
        runner.logger.info(start.schedule_note)
    stopped_by = train_keeping_what_is_done(runner, cfg)
    rank = runner.rank
    del runner  # (its DDP wrapper holds the process group, which leave_distributed ends)
    leave_distributed()
    if stopped_by:
        return exit_status(stopped_by)
    if last_validation.metrics and rank == 0:
        print_result(cfg, last_validation.metrics)
    return 0


def check_pretrain(name, config_function, official, args):
    """--check-pretrain: build the model, load its pretrained weights, say how many tensors loaded."""
    cfg = script_config(name, config_function, official, args)
    pretrained = prepare_for(cfg, name, args.pretrain, download=not args.no_download)
    if pretrained is None:
        print(f'{name}: train_{name}.py loads no pretrained weights (trained from scratch)')
    else:
        print(check_loaded(build_model(cfg).backbone, pretrained))
    return 0


def train_keeping_what_is_done(runner, cfg):
    """Runner.train() with a full disk, a dead loader worker and a lost node explained and SIGTERM/SIGINT turned into a
    checkpoint; returns the signal that stopped the run, if one did."""
    checkpoint_size = checkpoint_bytes(runner.model, cfg.optim_wrapper)
    if runner.rank == 0:  # (the process that writes the checkpoints)
        warn_if_disk_is_short(runner.work_dir, checkpoint_size)
    stop = next(hook for hook in runner.hooks if isinstance(hook, StopOnSignal))
    with stop.installed(), explained_faults(runner.work_dir, checkpoint_size, cfg.train_dataloader.num_workers), \
            explained_lost_peers(runner):
        runner.train()
    return stop.stopped_by


def print_result(cfg, metrics):
    last, best = last_good_checkpoint(cfg.work_dir), best_checkpoint(cfg.work_dir)
    saved = f'checkpoint: {shown(last)}' if last else 'no checkpoint (default_hooks.checkpoint saved none in this run)'
    print(f'mIoU: {metrics["mIoU"]:.2f} after {cfg.train_cfg.max_iters} iterations; {saved}'
          + (f'; best: {shown(best)}' if best else ''))


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
    name, args = script_command_line(config_function, argv)
    status = exit_code(lambda: _run_explaining_oom(name, config_function, official, args), args.debug)
    abandon_distributed()  # (after an error; a finished run has left its process group already)
    sys.exit(status)
