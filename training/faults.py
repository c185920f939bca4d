"""Faults of long runs, each ended with one paragraph and nothing lost: the work dir's disk filling up (checked at
start-up against one checkpoint's size, explained when a write fails with ENOSPC) and a data-loader worker killed
by the kernel (most often its out-of-memory killer).

A failed checkpoint write leaves nothing half-written (checkpoint_format.py writes beside the file and renames), so the
last good checkpoint stays what `last_checkpoint` points at, and the same command continues from it.
"""
import contextlib
import errno
import signal
import sys
import threading
import time

from . import compat
from .checkpoints import last_good_checkpoint
from .disk import free_bytes, gb
from .errors import UserError

DEAD_WORKER = 'DataLoader worker (pid'  # how PyTorch's lines about a dead loader worker begin
OPTIMIZER_SLOTS = {'SGD': 1, 'Adam': 2, 'AdamW': 2}  # per-parameter state tensors (momentum; Adam's two moments)


def checkpoint_bytes(model, optimizer_cfg):
    """About how large one checkpoint of `model` is: its state dict plus the optimizer's per-parameter state."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    parameters = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    optimizer = optimizer_cfg.get('optimizer', {})
    slots = OPTIMIZER_SLOTS.get(optimizer.get('type'), 2)
    if optimizer.get('type') == 'SGD' and not optimizer.get('momentum'):
        slots = 0
    return weights + slots * parameters


def warn_if_disk_is_short(work_dir, needed):
    free = free_bytes(work_dir)
    if free < needed:
        print(f'warning: {work_dir} has {gb(free)} free, and one checkpoint of this model takes about {gb(needed)}: '
              f'the first checkpoint will fail. Free some space, or train with --work-dir on a larger disk.',
              file=sys.stderr)


def continue_from(work_dir):
    last = last_good_checkpoint(work_dir)
    return (f'the same command continues from {last}, the last good checkpoint' if last else
            'no checkpoint was written yet, so the same command starts over')


@contextlib.contextmanager
def explained_faults(work_dir, needed, num_workers):
    """Turns a full disk and a killed loader worker during training into one paragraph each."""
    deaths = []  # PyTorch's lines about dead loader workers, as the SIGCHLD handler below records them
    try:
        with _worker_deaths_recorded(deaths):
            yield
    except OSError as error:
        if error.errno != errno.ENOSPC:
            _raise_if_a_loader_worker_died(error, deaths, work_dir, num_workers)
            raise
        raise UserError(
            f'The disk of {work_dir} is full ({error.strerror}{": " + error.filename if error.filename else ""}): '
            f'one checkpoint of this model takes about {gb(needed)}, and {gb(free_bytes(work_dir))} '
            f'are free. Nothing half-written was kept. Free some space (older runs in work_dirs/, '
            f'pretrain/converted/), or move the work dir to a larger disk and pass --work-dir; then '
            f'{continue_from(work_dir)}.') from error
    except (RuntimeError, EOFError) as error:
        _raise_if_a_loader_worker_died(error, deaths, work_dir, num_workers)
        raise


@contextlib.contextmanager
def _worker_deaths_recorded(deaths):
    """PyTorch's own SIGCHLD handler raises its RuntimeError asynchronously, at whatever line the main thread is on
    when a worker dies (even inside the printing of another traceback, which then comes out garbled). This one,
    installed in its place, records PyTorch's line instead; the loader's own liveness check (every 5 s while it
    waits for a batch) then raises at a defined place, and the paragraph keeps the signal's name."""
    if compat.loader_sigchld_handler_installed() or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGCHLD)

    def record(signum, frame):
        _record_dead_workers(deaths)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGCHLD, record)
    compat.set_loader_sigchld_handler_installed(True)  # PyTorch installs its own only where this is False
    try:
        yield
    finally:
        signal.signal(signal.SIGCHLD, previous)
        compat.set_loader_sigchld_handler_installed(False)


def _record_dead_workers(deaths):
    """Appends PyTorch's line about a dead loader worker, if any, from its own check (`waitid` without reaping)."""
    try:
        compat.raise_if_a_loader_worker_failed()
    except RuntimeError as error:
        deaths.append(str(error))


def _raise_if_a_loader_worker_died(error, deaths, work_dir, num_workers):
    message = _dead_worker_message(error, deaths) if num_workers else None
    if message is None:
        return
    lower = max(0, num_workers // 2)
    raise UserError(
        f'A data-loader worker died ({message.splitlines()[0].strip()}). Most likely the kernel\'s out-of-memory '
        f'killer ended it: host memory ran out. This run uses {num_workers} loader worker(s) per training '
        f'process (train_dataloader.num_workers), each with its own copy of the data pipeline and prefetched '
        f'batches; lower it, e.g. --cfg-options train_dataloader.num_workers={lower}, or run fewer jobs on this '
        f'machine. Then {continue_from(work_dir)}.') from error


def _dead_worker_message(error, deaths, wait_s=5.0):
    """PyTorch's own line naming a dead loader worker, or None when `error` is not about one.

    A worker killed while the main process unpickles one of its batches shows up first as the connection that shared
    the batch's memory being reset (ConnectionResetError) or a queue ending (EOFError), before the kernel has made the
    worker a zombie; PyTorch then re-raises that error as it is. The worker's death is certain a moment later, so
    ask PyTorch's own check (the one SIGCHLD handlers run) for a few seconds.
    """
    if isinstance(error, RuntimeError):
        if DEAD_WORKER not in str(error):
            return None
        return deaths[0] if deaths else str(error)  # "... is killed by signal: Killed." over "... exited unexpectedly"
    if not isinstance(error, (ConnectionError, EOFError)):
        return None
    deadline = time.monotonic() + wait_s
    while not deaths and time.monotonic() < deadline:
        _record_dead_workers(deaths)
        try:
            time.sleep(0.05)
        except RuntimeError as raised:  # where PyTorch's own SIGCHLD handler is installed, it raises out of the sleep
            if DEAD_WORKER not in str(raised):
                raise
            deaths.append(str(raised))
    return deaths[0] if deaths else None
