"""A training run, step by step: train() is the entry point of every train_<name>.py.

    the command line on the script's config -> (--print-config / --check-pretrain) -> the checks of this machine ->
    where to start (a checkpoint to continue from, and whether the config still fits it) -> pretrained weights ->
    the Runner -> Runner.train() under the fault and signal handlers -> the line that reports the result

The pieces live in their own modules: command_line (flags), project_runner (the Runner and its hooks), resume
(continuing), preemption and faults (what ends a run), pretrained, dataset_check, launch (processes, device).
"""
import sys

import torch

from . import speed
from .checkpoints import best_checkpoint, iter_of, last_good_checkpoint, shown
from .command_line import apply_command_line, script_command_line
from .config import data_root_of, drop_pretrained, use_cpu_safe_optim_wrapper
from .data.dataset_check import check_data
from .errors import UserError, exit_code
from .faults import checkpoint_bytes, explained_faults, warn_if_disk_is_short
from .launch import check_device, leave_distributed, set_up_distributed
from .preemption import StopOnSignal, exit_status
from .pretrained import check_loaded, prepare_for
from .project_runner import build_model, build_runner
from .reproducibility import make_this_process_deterministic
from .resume.config_guard import check_same_training
from .resume.longer_schedule import KEEP, STRETCH
from .resume.start_point import set_up_resume


def run(name, config_function, official, args):
    """One run of train_<name>.py with the command line `args`; returns the exit status."""
    cfg = apply_command_line(config_function(), args, name, official)
    if args.print_config:
        print(cfg.pretty_text)
        return 0
    if args.check_pretrain:
        return check_pretrain(cfg, name, args)
    check_this_machine(cfg, name, args)
    start = where_to_start(cfg, name, args)
    if start is None:
        return 0
    changes, schedule = start
    source = prepare_for(cfg, name, args.pretrain, download=not args.no_download)
    runner, last_validation = build_runner(cfg, source, name)
    runner.continue_with_new_config = bool(changes) or bool(schedule and schedule[0] == STRETCH)
    if schedule:
        runner.logger.info(schedule[1])
    stopped_by = train_keeping_what_is_done(runner, cfg)
    rank = runner.rank
    del runner  # (its DDP wrapper holds the process group, which leave_distributed ends)
    leave_distributed()
    if stopped_by:
        return exit_status(stopped_by)
    if last_validation.metrics and rank == 0:
        report(cfg, last_validation.metrics)
    return 0


def check_pretrain(cfg, name, args):
    """--check-pretrain: build the model, load its pretrained weights, say how many tensors loaded."""
    source = prepare_for(cfg, name, args.pretrain, download=not args.no_download)
    if source is None:
        print(f'{name}: train_{name}.py loads no pretrained weights (trained from scratch)')
    else:
        print(check_loaded(build_model(cfg).backbone, source))
    return 0


def check_this_machine(cfg, name, args):
    """The data, the device, the precision, the processes: everything that can fail before the first step."""
    if args.deterministic:
        make_this_process_deterministic()
    check_data(data_root_of(cfg), name, generate_tiny=args.smoke)
    check_device(args.smoke, args.allow_cpu)
    use_cpu_safe_optim_wrapper(cfg)
    if args.amp and cfg.optim_wrapper.type != 'AmpOptimWrapper':
        raise UserError('--amp needs a CUDA GPU, and none is visible here (torch.cuda.is_available() is False). '
                        'Run without --amp.')
    speed.set_tf32(not args.no_tf32)
    set_up_distributed(cfg)


def where_to_start(cfg, name, args):
    """(config changes allowed by --resume-with-new-config, what happens to a grown schedule) of a run that starts
    or continues; None where the work dir is trained to the end already."""
    checkpoint = set_up_resume(cfg, args.restart)
    if not checkpoint:
        return [], None
    done = iter_of(checkpoint)
    if done >= cfg.train_cfg.max_iters:
        print(f'{cfg.work_dir} is already trained to {done} iterations (max {cfg.train_cfg.max_iters}). '
              f'Use --iters to train longer or --restart to start over.', file=sys.stderr)
        return None
    choice = STRETCH if args.stretch_schedule else KEEP if args.keep_schedule else None
    changes, schedule = check_same_training(cfg, checkpoint, f'train_{name}.py', args.resume_with_new_config, choice)
    print(f'continuing from {checkpoint} (use --restart to start over)', file=sys.stderr)
    drop_pretrained(cfg.model)  # the checkpoint overwrites the backbone anyway
    return changes, schedule


def train_keeping_what_is_done(runner, cfg):
    """Runner.train() with a full disk and a dead loader worker explained and SIGTERM/SIGINT turned into a
    checkpoint; returns the signal that stopped the run, if one did."""
    checkpoint_size = checkpoint_bytes(runner.model, cfg.optim_wrapper)
    if runner.rank == 0:  # (the process that writes the checkpoints)
        warn_if_disk_is_short(runner.work_dir, checkpoint_size)
    stop = next(hook for hook in runner.hooks if isinstance(hook, StopOnSignal))
    with stop.installed(), explained_faults(runner.work_dir, checkpoint_size, cfg.train_dataloader.num_workers):
        runner.train()
    return stop.stopped_by


def report(cfg, metrics):
    best = best_checkpoint(cfg.work_dir)
    print(f'mIoU: {metrics["mIoU"]:.2f} after {cfg.train_cfg.max_iters} iterations; '
          f'checkpoint: {shown(last_good_checkpoint(cfg.work_dir))}' + (f'; best: {shown(best)}' if best else ''))


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
    sys.exit(exit_code(lambda: _run_explaining_oom(name, config_function, official, args), args.debug))
