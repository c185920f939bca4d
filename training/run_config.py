"""The config of one run, assembled in one place, in the order a reader follows:

    1. the script's config()   official recipe < configs/<model>.py < protocol (common.py) < the script's knobs
    2. project policy          what every run of this project does, whatever its flags
    3. the user's flags        --smoke, --iters, --total-batch, --seed, --work-dir ...
    4. --cfg-options           any key: the user's last word
    5. this machine            device, precision, launcher and processes
    6. where to start          fresh, or the checkpoint it continues from (resume/start_point.py)
    7. pretrained weights      the file the backbone loads, verified (and converted where its layout is not MMSeg's)

`python train_<name>.py --print-config` prints the result of all seven (moving, downloading and starting nothing);
the Runner trains exactly that config: nothing edits it after assemble() (tests/test_print_config.py compares the
printout with the config each run dumps into its work dir).
"""
import sys
from dataclasses import dataclass
from typing import Optional

import torch

from . import speed, trackers, visualization
from .arguments import parse_args
from .compiling import check_compiler
from .config import data_root_of, drop_pretrained, pretrained_ref, set_data_root, set_schedule_length, sync_pipelines
from .data.dataset_check import check_data
from .errors import UserError
from .experiments import name_of_config_function
from .launch import check_device, set_distributed_config, start_process_group, world_size
from .paths import UNNAMED_WORK_DIR, script_file, work_dir_for
from .precision import set_precision
from .pretrained import PretrainedFile, prepare_for
from .reproducibility import make_this_process_deterministic, set_seed
from .resume.fast_loop import FastResumeLoop
from .resume.start_point import StartPoint, where_to_start
from .smoke import apply_smoke


@dataclass
class RunConfig:
    """What a run trains: the config, where it starts, and the pretrained file its backbone loads."""
    cfg: object                           # the MMEngine Config the Runner is built from
    start: StartPoint
    pretrained: Optional[PretrainedFile]  # None: no pretrained backbone (or, in a preview, a file still to download)


def script_command_line(config_function, argv=None):
    """(the experiment's name, its parsed command line) of the script that defines `config_function`."""
    name = name_of_config_function(config_function)
    return name, parse_args(name, argv)


def assemble(name, config_function, official, args, preview=False):
    """The RunConfig of train_<name>.py with the command line `args`. `preview` (--print-config): the same config,
    with nothing checked, moved, downloaded or started on this machine."""
    cfg = script_config(name, config_function, official, args)
    fit_this_machine(cfg, args, name, preview)
    start = where_to_start(cfg, script_file(name), args, move_old_run=not preview)
    pretrained = None if start.trained_to_the_end else prepare_for(
        cfg, name, args.pretrain, download=not (args.no_download or preview), missing_ok=preview)
    return RunConfig(cfg, start, pretrained)


def script_config(name, config_function, official, args):
    """Steps 1-4: the script's config under the project's policy and the command line `args`."""
    cfg = config_function()
    apply_project_policy(cfg, name)
    apply_flags(cfg, args, name, official)
    apply_cfg_options(cfg, args.cfg_options)
    return cfg


def build_config(config_function, official, argv=None):
    """Steps 1-4 with the command line `argv` (tools and tests), and the parsed args."""
    name, args = script_command_line(config_function, argv or [])
    return script_config(name, config_function, official, args), args


# ---- the steps -----------------------------------------------------------------------------------------------------
def apply_project_policy(cfg, name):
    """What every run of this project does: the script's pipeline edits reach the loaders, the config names its
    experiment, the work dir has the script's name, the train loop resumes in seconds (FastResumeLoop), logs go to
    TensorBoard too (a script's log_to, or --log-to, chooses other trackers: trackers.py), and every validation draws
    its panels and per-class figures (visualization.DEFAULT, under a script's own val_report)."""
    sync_pipelines(cfg)
    cfg.experiment = name  # what the run is, whatever its folder is called (run_summary.model_of_run)
    cfg.work_dir = work_dir_for(cfg.get('work_dir') or UNNAMED_WORK_DIR, name)
    cfg.train_cfg.type = FastResumeLoop.__name__  # IterBasedTrainLoop that resumes in seconds (registered)
    cfg.log_to = list(cfg.get('log_to') or trackers.DEFAULT)  # (a script's own choice stays; --log-to overrides)
    cfg.val_report = dict(visualization.DEFAULT, **(cfg.get('val_report') or {}))


def apply_flags(cfg, args, name, official):
    """The flags the user typed; nothing else overrides a script's value."""
    speed.apply(cfg, args)
    if args.smoke:
        apply_smoke(cfg, name, args.iters)
    elif args.iters:
        set_schedule_length(cfg, args.iters)
    fit_intervals_in_schedule(cfg)
    if args.total_batch:
        accumulate_to_total_batch(cfg, args.total_batch, name)
    set_seed(cfg, args.seed, args.deterministic)
    if args.no_val_report:
        cfg.val_report = dict(images=0, per_class=False)
    if args.log_to:
        cfg.log_to = list(trackers.parse_log_to(args.log_to))
    if args.channels_last:
        cfg.channels_last = True  # read by ProjectRunner.wrap_model
    if args.auto_scale_lr:
        scale_lr_to_batch(cfg, official, name)
    if args.no_pretrain or (args.smoke and not args.pretrain):  # a smoke run loads none unless --pretrain says so
        drop_pretrained(cfg.model)
    if args.data_root:
        set_data_root(cfg, args.data_root)
    if args.work_dir:
        cfg.work_dir = work_dir_for(args.work_dir, name)  # (run_all.py gives every script one pattern)


def apply_cfg_options(cfg, options):
    cfg.merge_from_dict(options)
    sync_pipelines(cfg)
    trackers.set_trackers(cfg)  # the visualizer's backends from the final log_to


def fit_this_machine(cfg, args, name, preview):
    """The data, the device and the processes checked (everything that can fail before the first step), then the
    config for this machine: precision (a recipe's AmpOptimWrapper needs a GPU) and processes (launcher, gloo on the
    CPU). A preview only writes the config: it checks nothing and starts no process group."""
    if not preview:
        if args.deterministic:
            make_this_process_deterministic()
        check_data(data_root_of(cfg), name, generate_tiny=args.smoke)
        check_device(args.smoke, args.allow_cpu)
        if cfg.get('compile_model'):
            check_compiler()
    set_precision(cfg, args.amp)
    set_distributed_config(cfg, args.dist_timeout)
    if not preview:
        speed.set_tf32(not args.no_tf32)
        start_process_group(cfg)


# ---- what the flags do ---------------------------------------------------------------------------------------------
def fit_intervals_in_schedule(cfg):
    """At least one validation and one checkpoint, also in runs shorter than the interval."""
    cfg.train_cfg.val_interval = min(cfg.train_cfg.val_interval, cfg.train_cfg.max_iters)
    cfg.default_hooks.checkpoint.interval = min(cfg.default_hooks.checkpoint.interval, cfg.train_cfg.max_iters)


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
    set_schedule_length(cfg, cfg.train_cfg.max_iters * counts)
    cfg.train_cfg.val_interval *= counts
    cfg.default_hooks.checkpoint.interval *= counts
    print(f'--total-batch {total_batch}: {world_size()} GPU(s) x {cfg.train_dataloader.batch_size} images, gradients '
          f'accumulated over {counts} iterations per optimizer step; {cfg.train_cfg.max_iters // counts} optimizer '
          f'steps = {cfg.train_cfg.max_iters} iterations. Not reproduced: BatchNorm still normalises over '
          f'{cfg.train_dataloader.batch_size} images per GPU, not {total_batch}.', file=sys.stderr)


def scale_lr_to_batch(cfg, official, name):
    """--auto-scale-lr: MMEngine multiplies the LR by the actual total batch / base_batch_size."""
    if not official.get('total_batch'):
        raise UserError(f'train_{name}.py does not state OFFICIAL["total_batch"]; --auto-scale-lr needs it.')
    # MMEngine's real batch is GPUs x batch per GPU; with --total-batch each step sees `counts` times more
    counts = cfg.optim_wrapper.get('accumulative_counts', 1)
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=official['total_batch'] / counts if counts > 1
                             else official['total_batch'])


# ---- --print-config ------------------------------------------------------------------------------------------------
def printed(run_config, args):
    """The text --print-config prints: what depends on this machine and on the work dir, as comment lines, then the
    config."""
    cfg, start = run_config.cfg, run_config.start
    device = 'a CUDA GPU' if torch.cuda.is_available() else 'the CPU'
    lines = [f'# The config this command trains on this machine ({device}, {world_size()} process(es), launcher '
             f'{cfg.launcher!r}): optim_wrapper, launcher, env_cfg.dist_cfg and model_wrapper_cfg follow the machine.']
    if start.checkpoint:
        lines.append(f'# It continues from {start.checkpoint} (iteration {start.iteration}).'
                     + (' That is the end of its schedule: the command trains nothing (--iters to train longer, '
                        '--restart to start over).' if start.trained_to_the_end else ''))
    elif args.restart:
        lines.append('# --restart: it starts over; the run now in the work dir would be kept, renamed.')
    ref = pretrained_ref(cfg.model)
    if ref and run_config.pretrained is None and not start.trained_to_the_end:
        lines.append(f'# Its pretrained file {args.pretrain or ref[0][ref[1]]} is not here yet: the run downloads it '
                     f'first, and where its layout is not MMSeg\'s, loads its conversion under pretrain/converted/.')
    return '\n'.join(lines) + '\n' + cfg.pretty_text
