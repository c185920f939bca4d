"""torchrun whose exit status is the run's: tools/torchrun.py takes torchrun's own arguments and runs its agent in this
process. torchrun alone exits 1 with a ChildFailedError traceback whenever a training process exits non-zero, even
after a clean stop on SIGTERM (every process wrote or waited for the checkpoint and exited 143). A batch script
that requeues itself on 143 would then never requeue a torchrun job.

Here:
- every training process of this node stopped on a signal (exit status 128 + signal, preemption.py) or was ended by
  one: that status, and one line that says the same command continues;
- this agent itself got SIGTERM (Slurm signals every process of a job step): torchrun sends it on to the training
  processes, waits --shutdown-timeout seconds for their checkpoint, and this exits 128 + the signal too;
- a training process failed: its exit status (its paragraph is above), and one line saying which one.
"""
import sys

from .preemption import STOPPED, exit_status

SHUTDOWN_TIMEOUT_S = 120  # how long torchrun waits for its processes to write their checkpoint after a signal


def run_torchrun(argv):
    """torchrun's agent with `argv` (torchrun's command line); returns the exit status described above."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run
    args = parse_args(with_shutdown_timeout(argv))
    try:
        run(args)
    except ChildFailedError as error:
        return status_of_failures({rank: failure.exitcode for rank, failure in error.failures.items()})
    except SignalException as error:
        status = exit_status(error.sigval)
        print(f'torchrun: this agent got {error.sigval.name}; its training processes were told to stop (exit status '
              f'{status}): the same command continues from their checkpoint', file=sys.stderr)
        return status
    return 0


def status_of_failures(exit_codes):
    """This node's exit status from {global rank: exit code} of its failed training processes (a negative code: ended
    by that signal)."""
    statuses = {rank: code if code >= 0 else exit_status(-code) for rank, code in exit_codes.items()}
    if all(status in STOPPED for status in statuses.values()):
        status = min(statuses.values())
        print(f'torchrun: the training processes stopped on a signal (exit status {status}): the same command '
              f'continues from their checkpoint', file=sys.stderr)
        return status
    rank, status = min((rank, status) for rank, status in statuses.items() if status not in STOPPED)
    print(f'torchrun: rank {rank} failed (exit status {status}); its error is above', file=sys.stderr)
    return status or 1


def with_shutdown_timeout(argv):
    """`argv` with --shutdown-timeout SHUTDOWN_TIMEOUT_S unless it names one (torchrun's default, 30 s, can cut a
    large model's checkpoint short)."""
    if any(arg.split('=')[0] in ('--shutdown-timeout', '--shutdown_timeout') for arg in argv):
        return list(argv)
    return ['--shutdown-timeout', str(SHUTDOWN_TIMEOUT_S), *argv]
