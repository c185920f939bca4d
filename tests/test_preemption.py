"""SIGTERM (a scheduler's preemption) and SIGINT end a run at the end of its current iteration with a checkpoint
there, exit 143 / 130, and the same command continues from exactly that iteration (training/preemption.py). Real
processes, real signals."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from conftest import REFERENCE_ITERS, REPO, different_weights, run_script, trained_steps, wait_for_step
from training.checkpoints import last_good_checkpoint, readable

pytestmark = pytest.mark.slow(1.5)  # (minutes; the longest start first: conftest.py)

ITERS = REFERENCE_ITERS  # long enough that the signal comes mid-run (a smoke iteration takes a fraction of a second)


def _stopped_at(log, signal_name):
    """The iteration of the run's 'stopped by <signal> at iteration N' line."""
    line = next(line for line in log.splitlines() if f'stopped by {signal_name} at iteration ' in line)
    return int(line.split(' at iteration ')[1].split(':')[0])


def test_sigterm_to_the_process_group_checkpoints_the_current_iteration_and_a_rerun_continues(fcn_reference, tmp_path):
    """As a scheduler or Ctrl-C does it: the signal reaches the loader workers too; a second one comes while the
    first is being handled. The rerun ends with the weights of the run no signal interrupted, bit for bit."""
    work_dir = tmp_path / 'fcn'
    args = ['--smoke', '--iters', ITERS, '--work-dir', work_dir,
            '--cfg-options', 'train_dataloader.num_workers=1', 'train_dataloader.persistent_workers=True']
    process = subprocess.Popen([sys.executable, 'train_fcn.py', *map(str, args)], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    wait_for_step(process, work_dir, 2)
    assert len(psutil.Process(process.pid).children()) >= 1  # its loader worker
    os.killpg(process.pid, signal.SIGTERM)
    time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # while it stops: noted, ignored
    stdout, stderr = process.communicate(timeout=600)
    log = stdout + stderr
    assert process.returncode == 143, log[-3000:]
    assert 'Traceback' not in log and 'SIGINT received while stopping: ignored' in log
    stopped = _stopped_at(log, 'SIGTERM')
    assert 2 <= stopped < ITERS and trained_steps(work_dir)[-1] == stopped
    assert last_good_checkpoint(work_dir) == str(work_dir / f'iter_{stopped}.pth')
    assert readable(work_dir / f'iter_{stopped}.pth')

    rerun = run_script('fcn', *args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f'continuing from {work_dir}/iter_{stopped}.pth' in rerun.stderr
    assert trained_steps(work_dir) == list(range(1, ITERS + 1))  # each iteration trained once
    assert different_weights(work_dir / f'iter_{ITERS}.pth', fcn_reference) == []


# Several processes stopping at one iteration when one of them is signalled: test_multinode.py (two torchrun agents,
# SIGTERM to one node's process, then to every process of both nodes; both continue from that iteration).
