"""A node that dies or stops answering in a run of several processes: the survivors do not hang and do not print a
raw gloo/NCCL traceback. A collective that fails (a peer's connection reset) or waits longer than the run's
collective timeout (--dist-timeout, launch.DIST_TIMEOUT_S) ends every surviving process with one paragraph that
names the ranks which did not answer, where the run can continue from, and the command.

Which peers are lost: after the failure every survivor checks in at the run's rendezvous store (MASTER_ADDR:
MASTER_PORT, the TCP store torchrun's agent or rank 0 keeps) and waits up to ANSWER_WAIT_S for the others. The ranks
that never check in are named; where the store itself no longer answers, the node that held it (rank 0's) is the one
lost. Checkpoints are written atomically (checkpoint_format.py), so a run that died mid-write keeps the one before.
"""
import contextlib
import datetime
import os
import re
import time

from .errors import UserError
from .faults import continue_from
from .launch import ranks_of

ANSWER_WAIT_S = 10  # how long survivors wait for each other's check-in after a failed collective
COLLECTIVE_FAILURES = ('gloo', 'NCCL', 'Connection reset by peer', 'Connection closed by peer', 'Broken pipe',
                       'Timed out waiting', 'Socket Timeout')


def is_collective_failure(error):
    """Whether `error` is a collective that failed or timed out (torch's DistError, or gloo's RuntimeError text)."""
    import torch.distributed as dist
    if isinstance(error, dist.DistError):
        return True
    return isinstance(error, RuntimeError) and any(text in str(error) for text in COLLECTIVE_FAILURES)


@contextlib.contextmanager
def explained_lost_peers(runner):
    """Around Runner.train() of a run of several processes: a failed collective becomes one paragraph (UserError)."""
    if runner.world_size == 1:
        yield
        return
    try:
        yield
    except Exception as error:
        if not is_collective_failure(error):
            raise
        iteration = runner.iter + 1
        lost = silent_ranks(runner.rank, runner.world_size, iteration)
        raise UserError(
            f'Rank {runner.rank} lost contact with the other training processes at iteration {iteration}: '
            f'{lost} ({_first_line(error)}). Its node died, was cut off, or stopped answering for longer than the '
            f'collective timeout (--dist-timeout, {runner.cfg.env_cfg.dist_cfg.get("timeout")} s). Every process '
            f'that is still up ends here rather than wait. Nothing half-written was kept: '
            f'{continue_from(runner.work_dir)}. Start the job again on every node (the same torchrun or srun '
            f'command on each, once the lost node is back or replaced).') from error


def silent_ranks(rank, world_size, iteration, wait_s=ANSWER_WAIT_S):
    """Which ranks did not check in at the rendezvous store within `wait_s`, in words."""
    import torch.distributed as dist
    prefix = f'ade_seg/answering/{os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")}/{iteration}/'
    try:
        store = dist.TCPStore(os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']), is_master=False,
                              timeout=datetime.timedelta(seconds=wait_s), wait_for_workers=False)
        store.set(f'{prefix}{rank}', '1')
        deadline = time.monotonic() + wait_s
        while True:
            answered = {peer for peer in range(world_size) if store.check([f'{prefix}{peer}'])}
            if len(answered) == world_size or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    except (KeyError, ValueError, RuntimeError) as error:  # (DistError is a RuntimeError)
        return (f'the rendezvous store at {os.environ.get("MASTER_ADDR")}:{os.environ.get("MASTER_PORT")} does not '
                f'answer either ({_first_line(error)}), so the node that holds it is lost: {ranks_of({0})}')
    silent = set(range(world_size)) - answered
    if not silent:
        return 'every rank is still up, but a collective between them failed'
    return f'{ranks_of(silent)} did not answer within {wait_s} s'


def _first_line(error):
    """The gist of a gloo/NCCL error: its first sentence, without the source file it names."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return re.sub(r'^\[[^\]]*\]\s*', '', line).split('. ')[0][:300]
