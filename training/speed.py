"""The speed switches of every train_<name>.py, in one place (evidence: docs/benchmarks.md).

Defaults are the settings that do not change results beyond float rounding: data loader workers sized from
the CPU count, persistent workers and pinned memory on a GPU, TF32 tensor cores for fp32 matmuls on GPUs that
have them (PyTorch already allows TF32 for cuDNN convolutions; --no-tf32 turns both off); cuDNN benchmark is
on in MMSeg's default runtime. Opt-in, because they change numerics or cost start-up time: --amp, --compile
(compiling.py), --channels-last (both applied by the Runner before it wraps the model for DDP: project_runner.py).
"""
import os

import torch

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
    """--amp's dtype on a GPU: bf16 where it is supported (fp32's range: no overflow), else fp16, which needs the
    dynamic loss scaling precision.set_precision sets (MMEngine's GradScaler stays on with bf16 too, where it never
    has to scale down)."""
    return 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float16'


def set_tf32(enabled):
    """TF32 for fp32 matmuls and convolutions on GPUs with tensor cores (Ampere and newer); no effect elsewhere."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


def apply(cfg, args):
    """The speed settings of the command line (args.compile, args.smoke) and the defaults (--amp: precision.py, for
    this machine)."""
    workers = 0 if args.smoke else loader_workers()  # a few smoke steps: starting workers costs more than it saves
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = workers
        cfg[loader].persistent_workers = workers > 0
        cfg[loader].pin_memory = torch.cuda.is_available()
    if args.compile or args.compile_mode:
        # our key, not MMEngine's `compile` (which wraps train_step: 16x slower); project_runner applies it
        cfg.compile_model = dict(mode=args.compile_mode or 'default')
