"""The speed switches of every train_<model>.py, in one place (evidence: docs/benchmarks.md).

Defaults are the settings that do not change results: data loader workers sized from the CPU count, with
persistent workers and pinned memory on a GPU; cuDNN benchmark is already on in MMSeg's default runtime.
Opt-in, because they change numerics or cost start-up time: --amp, --compile, --channels-last.
"""
import os

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

MAX_LOADER_WORKERS = 4  # per process; one worker prepares ~90 ADE-size images/s, batch 2 needs far fewer


def processes_per_node():
    for name in ('LOCAL_WORLD_SIZE', 'SLURM_NTASKS_PER_NODE'):
        if os.environ.get(name, '').isdigit():
            return max(1, int(os.environ[name]))
    return 1


def loader_workers():
    """Data loader workers per training process: the CPUs this process may use, one left for the process itself."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
    return max(1, min(MAX_LOADER_WORKERS, cpus // processes_per_node() - 1))


def amp_dtype():
    """bf16 where the GPU supports it (fp32's range: no overflow), else fp16, which needs the dynamic loss scaling
    apply() sets (MMEngine's GradScaler stays on with bf16 too, where it never has to scale down)."""
    return 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'


@HOOKS.register_module(force=True)
class ChannelsLastHook(Hook):
    """Stores conv weights (and so the activations they produce) as NHWC, which tensor cores prefer."""

    def before_train(self, runner):
        runner.model.to(memory_format=torch.channels_last)


def apply(cfg, args):
    """The speed settings of the command line (args.amp, args.compile, args.channels_last, args.smoke) and the
    defaults."""
    workers = 0 if args.smoke else loader_workers()  # a few smoke steps: starting workers costs more than it saves
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = workers
        cfg[loader].persistent_workers = workers > 0
        cfg[loader].pin_memory = torch.cuda.is_available()
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = amp_dtype()
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.compile:
        cfg.compile = True  # MMEngine compiles the model's train_step with torch.compile
    if args.channels_last:
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [dict(type='ChannelsLastHook')]
