"""Where a run trains: one process or several (torchrun, Slurm), on the GPU or, said out loud, on the CPU."""
import datetime
import os
import socket
import subprocess
import sys

from . import cuda_env
from .config import walk_dicts
from .errors import UserError


DIST_TIMEOUT_S = 600  # how long a collective waits for a peer before the run ends (--dist-timeout)


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


def node_rank():
    """This machine's place among the run's nodes: torchrun's GROUP_RANK, Slurm's SLURM_NODEID, else 0."""
    return int(os.environ.get('GROUP_RANK', os.environ.get('SLURM_NODEID', 0)))


def local_rank():
    return int(os.environ.get('LOCAL_RANK', os.environ.get('SLURM_LOCALID', 0)))


def set_distributed_config(cfg, timeout_s=None):
    """The config's processes: the launcher from the environment, the collective timeout (`timeout_s`: --dist-timeout;
    else the config's env_cfg.dist_cfg.timeout; else DIST_TIMEOUT_S) and, for several CPU processes, gloo, DDP without
    device ids and BatchNorm instead of SyncBN (which needs CUDA). MMEngine 0.10.7's init_dist calls
    torch.cuda.set_device, which fails without a GPU: start_process_group starts CPU groups itself."""
    import torch
    cfg.launcher = launcher()
    if cfg.launcher == 'none':
        return
    dist_cfg = dict(cfg.env_cfg.get('dist_cfg') or {})
    cfg.env_cfg.dist_cfg = dict(dist_cfg, timeout=timeout_s or dist_cfg.get('timeout') or DIST_TIMEOUT_S)
    if torch.cuda.is_available():
        return
    cfg.env_cfg.dist_cfg.backend = 'gloo'
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
    else:
        if cfg.launcher == 'slurm':  # what torchrun would have set, and MMEngine's init_dist sets on a GPU
            for ours, slurm in (('RANK', 'SLURM_PROCID'), ('WORLD_SIZE', 'SLURM_NTASKS'),
                                ('LOCAL_RANK', 'SLURM_LOCALID')):
                os.environ.setdefault(ours, os.environ[slurm])
            os.environ.setdefault('MASTER_PORT', '29500')
            if 'MASTER_ADDR' not in os.environ:
                os.environ['MASTER_ADDR'] = _first_slurm_node()
        timeout = datetime.timedelta(seconds=cfg.env_cfg.dist_cfg.timeout)
        torch.distributed.init_process_group('gloo', timeout=timeout)
    global _layout
    _layout = _gathered_layout()


def _first_slurm_node():
    nodes = subprocess.run(['scontrol', 'show', 'hostnames', os.environ['SLURM_NODELIST']], capture_output=True,
                           text=True)
    if nodes.returncode or not nodes.stdout.split():
        raise UserError(f'Slurm without GPUs: the first node of SLURM_NODELIST={os.environ["SLURM_NODELIST"]} is '
                        f'unknown ({nodes.stderr.strip() or "scontrol printed nothing"}); set MASTER_ADDR to its host '
                        f'name, e.g. export MASTER_ADDR=$(scontrol show hostnames $SLURM_NODELIST | head -n1)')
    return nodes.stdout.split()[0]


# ---- who runs where: every rank's node, local rank and host, gathered once the process group is up -------------------
_layout = None  # [(node, local rank, host)] by global rank


def _gathered_layout():
    import torch.distributed as dist
    here = (node_rank(), local_rank(), socket.gethostname())
    layout = [None] * dist.get_world_size()
    dist.all_gather_object(layout, here)
    return layout


def layout():
    """[(node, local rank, host)] of every rank of this run (one entry for a single process)."""
    return _layout or [(node_rank(), local_rank(), socket.gethostname())]


def ranks_of(ranks):
    """'rank 2 (node 1, local rank 0, host gpu07)' and the like, for the ranks `ranks` of this run."""
    return ', '.join(f'rank {rank} (node {node}, local rank {local}, host {host})'
                     for rank, (node, local, host) in enumerate(layout()) if rank in ranks)


def described_layout():
    """The run's processes in one line, for the log: the world size and each node's ranks."""
    nodes = {}
    for rank, (node, local, host) in enumerate(layout()):
        nodes.setdefault((node, host), []).append((rank, local))
    return f'processes: world size {len(layout())} on {len(nodes)} node(s); ' + '; '.join(
        f'node {node} ({host}): ranks {", ".join(str(rank) for rank, _ in ranks)} '
        f'(local {", ".join(str(local) for _, local in ranks)})' for (node, host), ranks in sorted(nodes.items()))


def leave_distributed():
    """After training, every process waits for the others (rank 0 may still be writing the best checkpoint), then
    ends its process group while the interpreter is whole: a gloo group left to interpreter exit can abort the
    process in its own threads ("terminate called without an active exception", SIGABRT), failing a finished run
    under torchrun. The group lives on as long as anything holds it (a DDP wrapper: the Runner and the cycles it is
    part of, hence the collection first), so it is released here for real, not at exit. A no-op in a single process."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        abandon_distributed()


def abandon_distributed():
    """After a run of several processes ended on an error: its process group ended here, without waiting for the
    others (they may be gone), while the interpreter is whole (see leave_distributed). A no-op where none is left."""
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()
        gc.collect()
