"""What the pinned stack (torch 2.14, mmengine 0.10.7, mmcv 2.1.0, mmseg 1.2.2, submitit 1.5) needs to work together,
and the one place the project reaches the stack's private APIs.

Imported by training/checkpoints.py, so by every entry point, before anything loads a checkpoint. Each fix says
why it exists; drop it when the stack it works around is upgraded. Each private API below names the release it was
read in (PINNED); tests/test_compat.py fails with that name when an upgrade moves or changes one.
"""
import contextlib
import functools
import warnings

import numpy as np
import torch

# mmengine/mmcv import pkg_resources, which setuptools < 82 keeps (mmcv's build needs it) but warns
# about on every start; harmless for this pinned stack, and noise above every log and error.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

# ---- Resuming on torch >= 2.6 -----------------------------------------------------------------
# (Checkpoints this project writes now keep MMEngine's run state in plain types (training/checkpoint_format.py) and
# need none of this; it lets runs written before that format resume, and evaluate from their own work dir.)
# torch.load defaults to weights_only=True since torch 2.6, and mmengine 0.10.7 calls it without
# weights_only (fixed only on mmengine's unreleased main), so resuming fails with "Weights only load
# failed". Instead of turning weights_only off (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 would trust every
# downloaded file too), we allow what an MMEngine checkpoint holds besides tensors:
# - everywhere: the message hub's HistoryBuffer and the numpy arrays/scalars it keeps (data only);
# - only while Runner.resume reads the run's own checkpoint: `getattr`, because a HistoryBuffer
#   pickles its statistics methods as getattr(buffer, 'min') & co. getattr on arbitrary objects is
#   how pickle exploits reach os.system, so no other file gets it.
NUMPY_TYPES = [np.ndarray, np.dtype, np._core.multiarray._reconstruct, np._core.multiarray.scalar] + [
    type(np.dtype(name)) for name in  # the dtype classes pickled with arrays (np.dtypes.Float64DType...)
    ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
     'float16', 'float32', 'float64')]


def allow_mmengine_data_types():
    from mmengine.logging import HistoryBuffer
    torch.serialization.add_safe_globals([HistoryBuffer, *NUMPY_TYPES])


@contextlib.contextmanager
def trusting_own_checkpoint():
    """Lets torch.load read a checkpoint MMEngine wrote for this run (its HistoryBuffers' methods)."""
    with torch.serialization.safe_globals([getattr]):
        yield


def resume_with_own_checkpoint_trust():
    from mmengine.runner import Runner
    if getattr(Runner.resume, 'trusts_own_checkpoint', False):
        return
    original = Runner.resume

    @functools.wraps(original)
    def resume(self, filename, *args, **kwargs):
        with trusting_own_checkpoint():
            return original(self, filename, *args, **kwargs)

    resume.trusts_own_checkpoint = True
    Runner.resume = resume


allow_mmengine_data_types()
resume_with_own_checkpoint_trust()


# ---- private APIs, reached only from here --------------------------------------------------------------------------
PINNED = {'torch': '2.14.1', 'mmengine': '0.10.7', 'submitit': '1.5.4', 'python': '3.11'}  # as read


def loader_sigchld_handler_installed():
    """torch 2.14.1: whether PyTorch's DataLoader has installed its SIGCHLD handler (it installs one only where this
    flag is False, when its first worker starts)."""
    from torch.utils.data._utils import signal_handling
    return signal_handling._SIGCHLD_handler_set


def set_loader_sigchld_handler_installed(value):
    """torch 2.14.1: tells PyTorch's DataLoader that a SIGCHLD handler is installed (True: it will not install its
    own) or not."""
    from torch.utils.data._utils import signal_handling
    signal_handling._SIGCHLD_handler_set = value


def raise_if_a_loader_worker_failed():
    """torch 2.14.1: PyTorch's own check of its loader workers (what its SIGCHLD handler runs): a RuntimeError naming
    a worker that died ('DataLoader worker (pid N) is killed by signal: Killed.'), nothing otherwise."""
    from torch.utils.data._utils.signal_handling import _error_if_any_worker_fails
    _error_if_any_worker_fails()


def watch_loader_workers(key, pids):
    """torch 2.14.1: registers worker processes with PyTorch's loader check, as a DataLoader iterator does for its
    workers (the faults tests register a real process of their own this way)."""
    from torch.utils.data._utils import signal_handling
    signal_handling._set_worker_pids(key, tuple(pids))


def unwatch_loader_workers(key):
    """torch 2.14.1: the inverse of watch_loader_workers."""
    from torch.utils.data._utils import signal_handling
    signal_handling._remove_worker_pids(key)


def save_checkpoint_now(checkpoint_hook, runner):
    """mmengine 0.10.7: what CheckpointHook does at its interval, now: iter_<N>.pth, the last_checkpoint pointer and
    the keep-last-k clean-up (its public hooks only save at the interval)."""
    checkpoint_hook._save_checkpoint(runner)


def load_checkpoint(filename, map_location='cpu'):
    """mmengine 0.10.7: a checkpoint file read as Runner.resume reads it (through MMEngine's file backends)."""
    from mmengine.runner.checkpoint import _load_checkpoint
    return _load_checkpoint(filename, map_location=map_location)


def sampler_indices_of_rank(sampler):
    """mmengine 0.10.7: the endless index stream of this rank that an InfiniteSampler draws from (its seed's order)."""
    return sampler._indices_of_rank()


def infinite_dataloader_iterator(dataloader):
    """mmengine 0.10.7: the iterator IterBasedTrainLoop trains from (it starts a new epoch of a finite loader)."""
    from mmengine.runner.loops import _InfiniteDataloaderIterator
    return _InfiniteDataloaderIterator(dataloader)


def set_loop_position(loop, epoch, iteration):
    """mmengine 0.10.7: where a train loop stands (Runner.resume sets these from the checkpoint's meta)."""
    loop._epoch, loop._iter = epoch, iteration


def reseed_runner(runner, seed):
    """mmengine 0.10.7: the runner's randomness settings with another seed, applied (as Runner.resume does)."""
    runner._randomness_cfg.update(seed=seed)
    runner.set_randomness(**runner._randomness_cfg)


def decide_current_val_interval(loop):
    """mmengine 0.10.7: what IterBasedTrainLoop.run does after each iteration: switch to the validation interval of
    train_cfg.dynamic_intervals that applies from this iteration on."""
    loop._decide_current_val_interval()


def set_last_scheduled_values(scheduler_state, values):
    """mmengine 0.10.7: a param scheduler's state_dict with the values it last set (what its next step builds on;
    get_last_value() reads them)."""
    scheduler_state['_last_value'] = list(values)


def write_local_files_with(put):
    """mmengine 0.10.7: every file MMEngine's local backend writes (checkpoints, the last_checkpoint pointer) goes
    through put(backend, obj, filepath) instead of LocalBackend.put, in the whole process (idempotent). MMEngine has
    no public way to choose how its local files are written."""
    from mmengine.fileio.backends import LocalBackend
    LocalBackend.put = put


def save_checkpoints_with(save):
    """mmengine 0.10.7: Runner.save_checkpoint hands each checkpoint to save(checkpoint, filename, file_client_args=,
    backend_args=) instead of mmengine.runner.checkpoint.save_checkpoint, which it calls by that name in its module
    (idempotent). MMEngine has no public way to choose how a checkpoint is serialized."""
    import mmengine.runner.runner
    mmengine.runner.runner.save_checkpoint = save


def save_best_without_rewriting_last(checkpoint_hook):
    """mmengine 0.10.7: CheckpointHook._save_best_checkpoint writes the last checkpoint again after a new best whenever
    its last_ckpt is set; last_ckpt is hidden from it for that call (idempotent). Its other writes stay as they are."""
    if getattr(checkpoint_hook, '_best_without_rewrite', False):
        return
    save_best = checkpoint_hook._save_best_checkpoint

    def without_rewrite(runner, metrics):
        last = checkpoint_hook.last_ckpt
        checkpoint_hook.last_ckpt = None
        try:
            save_best(runner, metrics)
        finally:
            checkpoint_hook.last_ckpt = last
    checkpoint_hook._save_best_checkpoint = without_rewrite
    checkpoint_hook._best_without_rewrite = True


def forget_visualizer(name):
    """mmengine 0.10.7: a Visualizer is one instance per name in the process (ManagerMixin's _instance_dict, one per
    class): a second Runner built in one process under MMSeg's fixed name 'visualizer' would get the first one's, and
    write into the first run's folder. Forgotten here, so that the next Runner builds its own."""
    from mmengine.visualization import Visualizer
    classes = [Visualizer]
    while classes:
        cls = classes.pop()
        cls._instance_dict.pop(name, None)
        classes.extend(cls.__subclasses__())


def mark_resumed(runner):
    """mmengine 0.10.7: tells the Runner that a checkpoint was loaded, so that train() does not load one again."""
    runner._has_loaded = True


def sbatch_text(folder, **parameters):
    """submitit 1.5.4: the sbatch script SlurmExecutor would submit for a job in `folder` (its own builder and its
    own command; SlurmExecutor itself needs Slurm's commands to exist). (Importing submitit reconfigures logging
    with dictConfig, which closes every handler of the process: never in a process whose MMEngine log writes a file.)"""
    import sys

    from submitit.slurm.slurm import _make_sbatch_string
    command = ' '.join([sys.executable, '-u -m submitit.core._submit', str(folder)])
    return _make_sbatch_string(command=command, folder=folder, **parameters)


def set_recompile_limit(graphs):
    """torch 2.14: how many graphs Dynamo compiles per function (and per module instance) before it runs that
    function eager (torch._dynamo.config has no public counterpart)."""
    torch._dynamo.config.recompile_limit = graphs


def dynamo_counts():
    """torch 2.14: what Dynamo has compiled in this process so far: {'graphs': n, 'graph_breaks': n, 'first_break':
    the first line of the first graph break's reason, or None} (torch._dynamo.utils.counters; no public counter)."""
    from torch._dynamo.utils import counters
    breaks = counters['graph_break']
    first = next(iter(breaks), None)
    return dict(graphs=int(counters['stats']['unique_graphs']), graph_breaks=int(sum(breaks.values())),
                first_break=first.strip().splitlines()[0] if first else None)


def draw_random_numbers_as_eager():
    """torch 2.14: compiled code draws dropout, drop-path and point-sampling randomness from the same generator, in
    the same order, as eager code (torch._inductor.config.fallback_random; Inductor's own generator otherwise draws
    other numbers from the same seed, so a compiled run would not train what an eager run of the seed trains)."""
    import torch._inductor.config
    torch._inductor.config.fallback_random = True


def log_recompiles():
    """torch 2.14: Dynamo logs why it compiles a function again ('Recompiling function ...', the guard that failed) to
    the torch._dynamo loggers (torch._logging.set_logs, documented but in a private module)."""
    torch._logging.set_logs(recompiles=True)


def reset_dynamo():
    """torch 2.14: forget every compiled graph and count (torch._dynamo.reset is public, its counters are not)."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()


def run_exit_functions():
    """python 3.11: the interpreter's exit steps (atexit's functions), for a forked child that ends with os._exit."""
    import atexit
    atexit._run_exitfuncs()
