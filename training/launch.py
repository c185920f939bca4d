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
        problem = cuda_env.gpu_problem(torch.__version__, torch.version.cuda, cuda_env.driver_version())
        raise UserError(f'This machine has an NVIDIA GPU ({gpus[0]}), but torch cannot use it: {problem.why}. '
                        f'{problem.fix}. Training would otherwise run on the CPU, hundreds of times slower; to do that '
                        f'on purpose, add --allow-cpu.')
    print('warning: no GPU is visible: this training runs on the CPU, which takes weeks for a full ADE20K '
          'schedule (--smoke is the CPU-sized check).', file=sys.stderr)


def launcher():
    """MMEngine's launcher of this process: 'pytorch' under torchrun (RANK/WORLD_SIZE), 'slurm' under srun
    (SLURM_PROCID/SLURM_NTASKS), 'none' for one process."""
    if int(os.environ.get('WORLD_SIZE', 1)) > 1 and 'RANK' in os.environ:
        return 'pytorch'
    if int(os.environ.get('SLURM_NTASKS', 1)) > 1 and 'SLURM_PROCID' in os.environ:
        return 'slurm'
    return 'none'


def set_distributed_config(cfg):
    """The config's processes: the launcher from the environment and, for several CPU processes, gloo, DDP without
    device ids and BatchNorm instead of SyncBN (which needs CUDA). MMEngine 0.10.7's init_dist calls
    torch.cuda.set_device, which fails without a GPU: start_process_group starts CPU groups itself."""
    import torch
    cfg.launcher = launcher()
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
                                 find_unused_parameters=cfg.get('find_unused_parameters', False))
    for node in walk_dicts(cfg.model):
        if node.get('type') == 'SyncBN':
            node.type = 'BN'


def start_process_group(cfg):
    """The process group of a run of several processes (set_distributed_config's), before the Runner is built."""
    import torch
    from mmengine.dist import init_dist
    if cfg.launcher == 'none':
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
