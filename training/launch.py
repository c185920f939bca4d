"""Where a run trains: one process or several (torchrun, Slurm), on the GPU or, said out loud, on the CPU."""
import os
import sys

from . import cuda_env
from .config import walk_dicts
from .errors import UserError


def world_size():
    """The number of training processes this launch starts (torchrun or Slurm), before they connect."""
    for name in ('WORLD_SIZE', 'SLURM_NTASKS'):
        if os.environ.get(name, '').isdigit():
            return max(1, int(os.environ[name]))
    return 1


def check_device(smoke, allow_cpu):
    """A full training never lands on the CPU silently: an error where a GPU exists that torch cannot use (unless
    --allow-cpu), a warning where there is none. --smoke runs on the CPU on purpose."""
    import torch
    if torch.cuda.is_available() or smoke:
        return
    gpus = cuda_env.gpu_devices()
    if gpus and not allow_cpu:
        driver = cuda_env.driver_version()
        needed = cuda_env.driver_too_old(torch.version.cuda, driver)
        if needed:
            why = (f'its NVIDIA driver {driver} is older than torch {torch.__version__} (CUDA {torch.version.cuda}) '
                   f'needs (>= {needed}). Update the driver, or install a torch built for it '
                   f'(SYSTEM_TORCH=1 make install keeps a torch you installed)')
        elif not torch.version.cuda:
            why = (f'torch {torch.__version__} is a CPU build. Install the CUDA build: rm -rf .venv && make install '
                   f'(without SYSTEM_TORCH)')
        else:
            why = (f'torch.cuda.is_available() is False (driver {driver or "unknown"}). Check that nvidia-smi works '
                   f'for this user and that CUDA_VISIBLE_DEVICES does not hide the GPU')
        raise UserError(f'This machine has an NVIDIA GPU ({gpus[0]}), but torch cannot use it: {why}. Training '
                        f'would otherwise run on the CPU, hundreds of times slower; to do that on purpose, add '
                        f'--allow-cpu.')
    print('warning: no GPU is visible: this training runs on the CPU, which takes weeks for a full ADE20K '
          'schedule (--smoke is the CPU-sized check).', file=sys.stderr)


def set_up_distributed(cfg):
    """torchrun (RANK/WORLD_SIZE) or Slurm's srun (SLURM_PROCID/SLURM_NTASKS): detected from the environment.

    The process group is started here, before the Runner: MMEngine 0.10.7's init_dist calls
    torch.cuda.set_device, which fails without a GPU, so CPU processes use gloo, DDP without device ids,
    and BatchNorm instead of SyncBN (which needs CUDA).
    """
    import torch
    from mmengine.dist import init_dist
    if int(os.environ.get('WORLD_SIZE', 1)) > 1 and 'RANK' in os.environ:
        cfg.launcher = 'pytorch'
    elif int(os.environ.get('SLURM_NTASKS', 1)) > 1 and 'SLURM_PROCID' in os.environ:
        cfg.launcher = 'slurm'
    else:
        return
    if torch.cuda.is_available():
        init_dist(cfg.launcher, **cfg.env_cfg.get('dist_cfg', {}))
        return
    if cfg.launcher == 'slurm':  # what torchrun would have set
        for ours, slurm in (('RANK', 'SLURM_PROCID'), ('WORLD_SIZE', 'SLURM_NTASKS'), ('LOCAL_RANK', 'SLURM_LOCALID')):
            os.environ.setdefault(ours, os.environ[slurm])
        if 'MASTER_ADDR' not in os.environ:
            raise UserError('Slurm without GPUs: set MASTER_ADDR (the first node\'s host name) and MASTER_PORT, e.g. '
                            'export MASTER_ADDR=$(scontrol show hostnames $SLURM_NODELIST | head -n1) MASTER_PORT=29500')
    torch.distributed.init_process_group('gloo')
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=cfg.get('find_unused_parameters', False))
    for node in walk_dicts(cfg.model):
        if node.get('type') == 'SyncBN':
            node.type = 'BN'


def leave_distributed():
    """After training, every process waits for the others (rank 0 may still be writing the best checkpoint), then
    ends its process group while the interpreter is whole: a gloo group left to interpreter exit can abort the
    process in its own threads ("terminate called without an active exception", SIGABRT), failing a finished run
    under torchrun. The group lives on as long as anything holds it (a DDP wrapper: the Runner and the cycles it is
    part of, hence the collection first), so it is released here for real, not at exit. A no-op in a single process."""
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
        gc.collect()
