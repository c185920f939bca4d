"""Preemption and Ctrl-C: a run that gets SIGTERM (what Slurm and most schedulers send before they kill a job),
SIGUSR2 (what Slurm sends before a time limit where asked to, --signal=USR2@120: submitit's way, run_all.py --slurm)
or SIGINT finishes its current iteration, writes a checkpoint at it, says where, and exits with a status that asks
for a requeue; running the same command again continues from that iteration. Minutes are lost, not the up to
4000 iterations since the last regular checkpoint.

- The exit status is 128 + the signal: 143 after SIGTERM, 140 after SIGUSR2, 130 after SIGINT, what a job ended by
  that signal reports. Slurm requeues a preempted job marked --requeue; a batch script can requeue itself on 143
  (README). Slurm signals every process of a job step: without a handler, SIGUSR2 would end the training process
  on the spot, before submitit's handler in its parent could ask it for a checkpoint.
- A second signal while the checkpoint is written changes nothing: it is noted and ignored. The checkpoint is
  written atomically like every other (checkpoint_format.py), so a SIGKILL in the middle leaves the previous one as the
  last good checkpoint.
- Several processes (torchrun, srun) stop at the same iteration: each iteration they agree (all_reduce) whether
  any of them was signalled; rank 0 writes the checkpoint.
- Loader workers ignore both signals while the training process runs (leave_stop_signals_to_the_run): a signal
  sent to every process of the job (Ctrl-C in a terminal, Slurm signalling a job step) would otherwise kill them
  mid-batch, and PyTorch would fail the run with "DataLoader worker ... killed by signal". They end with the run.
"""
import contextlib
import functools
import os
import signal
import sys

from mmengine.hooks import Hook

from . import compat

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR2, signal.SIGINT)


def exit_status(signum):
    """128 + the signal number: the status of a process that the signal ended (143 for SIGTERM)."""
    return 128 + int(signum)


STOPPED = frozenset(exit_status(signum) for signum in STOP_SIGNALS)  # a run a stop signal ended: it continues


class StopOnSignal(Hook):
    """Registered last (after CheckpointHook): while installed(), turns a stop signal into a checkpoint at the end
    of the iteration and the end of the run; `stopped_by` then holds the signal."""

    priority = 'LOWEST'

    def __init__(self):
        self.received = 0        # the first stop signal this process got
        self.stopped_by = None   # the signal the run stopped on, once it did
        self._pid = None         # the process whose handlers these are (a forked child inherits them)

    def _on_signal(self, signum, frame):
        if os.getpid() != self._pid:  # a loader worker, which inherited the handler: the run decides, not it
            return
        name = signal.Signals(signum).name
        if self.received:
            print(f'{name} received while stopping: ignored, the checkpoint is being written', file=sys.stderr)
            return
        self.received = signum
        print(f'{name} received: finishing this iteration, then writing a checkpoint and stopping', file=sys.stderr)

    @contextlib.contextmanager
    def installed(self):
        """The handlers, for the time of Runner.train()."""
        self._pid = os.getpid()
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        signum = self._agreed_signal()
        if not signum:
            return
        iteration = runner.iter + 1
        checkpoints = next(hook for hook in runner.hooks if type(hook).__name__ == 'CheckpointHook')
        if not _saved_this_iteration(checkpoints, runner):
            compat.save_checkpoint_now(checkpoints, runner)  # iter_<N>.pth, the last_checkpoint pointer, keep-last-k
        from mmengine.dist import barrier
        barrier()  # no rank ends (and makes torchrun end the others) before rank 0 has written it
        checkpoint = os.path.join(runner.work_dir, f'iter_{iteration}.pth')
        runner.logger.info(
            f'stopped by {signal.Signals(signum).name} at iteration {iteration}: checkpoint {checkpoint}; the same '
            f'command continues from it (exit status {exit_status(signum)})')
        runner.train_loop.stop_training = True
        self.stopped_by = signum

    def _agreed_signal(self):
        """The stop signal if this process or any other of the run got one (the same answer on every rank)."""
        from mmengine.dist import all_reduce, get_world_size
        if get_world_size() == 1:
            return self.received
        import torch
        flag = torch.tensor(int(self.received))
        all_reduce(flag, op='max')
        return int(flag)


def _saved_this_iteration(hook, runner):
    """Whether MMEngine's CheckpointHook wrote this iteration's checkpoint (its own after_train_iter condition)."""
    return (hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
            or (hook.save_last and hook.is_last_train_iter(runner)))


def leave_stop_signals_to_the_run(dataloader):
    """Makes `dataloader`'s workers ignore the stop signals while this process runs (after PyTorch's own worker
    set-up, before the loader's worker_init_fn): the training process stops the run, and the workers with it."""
    if dataloader.num_workers:
        dataloader.worker_init_fn = functools.partial(_leaving_stop_signals, _process_running(),
                                                      dataloader.worker_init_fn)
    return dataloader


_running = None


def _process_running():
    """A flag shared with the loader workers: set while this process runs; cleared when it exits, before
    multiprocessing ends its remaining daemon workers with SIGTERM (which they must then obey)."""
    global _running
    if _running is None:
        import atexit
        import multiprocessing
        _running = multiprocessing.Value('b', 1, lock=False)
        atexit.register(lambda: setattr(_running, 'value', 0))  # runs before multiprocessing's own exit handler
    return _running


def _leaving_stop_signals(running, worker_init_fn, worker_id):
    def on_signal(signum, frame):
        if not running.value:  # the training process is ending, and ends its workers
            os._exit(0)

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)
    if worker_init_fn is not None:
        worker_init_fn(worker_id)
