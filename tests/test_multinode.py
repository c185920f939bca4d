"""Several nodes, for real: two torchrun agents on this machine, each one node (`tools/torchrun.py --nnodes 2
--node-rank 0|1`, static and c10d rendezvous on 127.0.0.1, gloo), training train_fcn.py --smoke in one work dir.
Two nodes x one process train the same weights, bit for bit, as one node x two processes; every rank starts from
rank 0's checkpoint or the job stops; a stop signal to one node stops both at one iteration with the requeue status;
a node killed with -9 (or frozen) ends the other within a bounded time with one paragraph, and both continue when
rerun."""
import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from conftest import REPO, different_weights, final_miou, scalars

pytestmark = pytest.mark.slow(1.5)

ONE_THREAD = dict(os.environ, OMP_NUM_THREADS='1')  # torchrun sets it only where a node runs several processes
CHECKPOINT_EVERY_2 = ('--cfg-options', 'default_hooks.checkpoint.interval=2')


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Agent:
    """One node: a tools/torchrun.py agent and its training processes, output in files."""

    def __init__(self, tmp_path, name, torchrun_args, script_args, prefix=()):
        self.out, self.err = tmp_path / f'{name}.out', tmp_path / f'{name}.err'
        command = [*prefix, sys.executable, 'tools/torchrun.py', *map(str, torchrun_args), 'train_fcn.py', '--smoke',
                   *map(str, script_args)]
        with open(self.out, 'w') as out, open(self.err, 'w') as err:
            self.process = subprocess.Popen(command, cwd=REPO, env=ONE_THREAD, stdout=out, stderr=err)

    def wait(self, timeout=600):
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f'{self.err}: still running after {timeout} s:\n{self.stderr[-3000:]}')

    def training_processes(self):
        return [child for child in psutil.Process(self.process.pid).children()
                if 'train_fcn.py' in ' '.join(child.cmdline())]

    def kill(self, signum=signal.SIGKILL):
        """`signum` to the agent, its training processes and their loader workers at once: the whole node (torchrun
        starts each training process in a session of its own, so not one process group)."""
        try:
            agent = psutil.Process(self.process.pid)
            processes = [agent, *agent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for process in processes:
            try:
                process.send_signal(signum)
            except psutil.NoSuchProcess:
                pass

    @property
    def stdout(self):
        return self.out.read_text()

    @property
    def stderr(self):
        return self.err.read_text()


def _nodes(tmp_path, tag, script_args, processes=1, rendezvous='static', node_prefixes=((), ())):
    port = _free_port()
    meeting = (['--master-addr', '127.0.0.1', '--master-port', str(port)] if rendezvous == 'static' else
               ['--rdzv-backend', 'c10d', '--rdzv-endpoint', f'127.0.0.1:{port}', '--rdzv-id', tag])
    return [Agent(tmp_path, f'{tag}_node{node}', ['--nnodes', 2, '--node-rank', node, '--nproc-per-node', processes,
                                                  *meeting], script_args, prefix)
            for node, prefix in enumerate(node_prefixes)]


def _all_end(agents, timeout=600):
    try:
        return [agent.wait(timeout) for agent in agents]
    finally:
        for agent in agents:
            agent.kill()


def _wait_for_step(work_dir, step, agents, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(record.get('step', 0) >= step for record in scalars(work_dir) if 'loss' in record):
                return
        except ValueError:  # a line being written
            pass
        assert all(agent.process.poll() is None for agent in agents), agents[0].stderr[-3000:]
        time.sleep(0.2)
    raise AssertionError(f'{work_dir}: no step {step} after {timeout} s')


def _losses(work_dir):
    return [record['step'] for record in scalars(work_dir) if 'loss' in record]


def _not_shared(path):
    """A prefix that runs a node's command with `path` hidden behind an empty tmpfs of its own (a mount namespace):
    a work dir on a disk that node does not share. Mounting needs root, as on the CI machine."""
    return ('unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs tmpfs "$0" && exec "$@"',
            str(path))


def test_two_nodes_train_what_one_node_trains_and_start_from_rank_zeros_checkpoint(tiny_ade, tmp_path):
    work_dir = tmp_path / 'two_nodes'
    nodes = _nodes(tmp_path, 'first', ['--iters', 3, '--work-dir', work_dir])
    assert _all_end(nodes) == [0, 0], nodes[0].stderr[-3000:] + nodes[1].stderr[-3000:]
    log = nodes[0].stdout + nodes[0].stderr
    assert 'processes: world size 2 on 2 node(s); node 0 (' in log and '): ranks 0 (local 0); node 1 (' in log
    assert '): ranks 1 (local 0)' in log
    final_miou(nodes[0].stdout)
    assert 'mIoU: ' not in nodes[1].stdout  # rank 0 reports, on node 0
    # one set of checkpoints and logs
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['best_mIoU_iter_3.pth', 'iter_3.pth']
    assert len(list(work_dir.glob('2*/2*.log'))) == 1  # one log folder, one log (MMEngine's <timestamp>/)
    assert _losses(work_dir) == [1, 2, 3]

    one_node = tmp_path / 'one_node'
    single = Agent(tmp_path, 'one_node', ['--nnodes', 1, '--nproc-per-node', 2, '--master-addr', '127.0.0.1',
                                          '--master-port', _free_port()], ['--iters', 3, '--work-dir', one_node])
    assert _all_end([single]) == [0], single.stderr[-3000:]
    log = single.stdout + single.stderr  # `torchrun --nproc-per-node=2 train_fcn.py` without any other flag
    assert 'Distributed training: True' in log and 'MMDistributedDataParallel' in log  # (SyncBN on CPU: BN)
    assert sum(line.startswith('mIoU: ') for line in single.stdout.splitlines()) == 1  # rank 0 reports
    assert different_weights(work_dir / 'iter_3.pth', one_node / 'iter_3.pth') == []

    # node 1 cannot see the work dir: the job stops on every rank before anyone trains
    blind = _nodes(tmp_path, 'blind', ['--iters', 4, '--stretch-schedule', '--work-dir', work_dir],
                   node_prefixes=((), _not_shared(work_dir)))
    assert _all_end(blind, timeout=300) == [2, 2], blind[0].stderr[-3000:] + blind[1].stderr[-3000:]
    for node in blind:
        assert f'cannot read {work_dir}/iter_3.pth, the checkpoint rank 0 continues from' in node.stderr
        assert 'rank 1 (node 1, local rank 0' in node.stderr
    assert _losses(work_dir) == [1, 2, 3]


def test_c10d_rendezvous_with_two_processes_per_node(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    nodes = _nodes(tmp_path, 'c10d', ['--iters', 2, '--work-dir', work_dir], processes=2, rendezvous='c10d')
    assert _all_end(nodes) == [0, 0], nodes[0].stderr[-3000:] + nodes[1].stderr[-3000:]
    log = ''.join(node.stdout + node.stderr for node in nodes)
    assert 'processes: world size 4 on 2 node(s)' in log
    assert '): ranks 0, 1 (local 0, 1); node 1 (' in log and '): ranks 2, 3 (local 0, 1)' in log
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['best_mIoU_iter_2.pth', 'iter_2.pth']


def test_a_stop_signal_to_one_node_or_all_stops_every_rank_at_one_iteration_with_the_requeue_status(tiny_ade,
                                                                                                    tmp_path):
    work_dir = tmp_path / 'fcn'
    args = ['--iters', 30, '--work-dir', work_dir, *CHECKPOINT_EVERY_2]
    nodes = _nodes(tmp_path, 'one', args)
    _wait_for_step(work_dir, 3, nodes)
    for process in nodes[1].training_processes():  # node 1's training process only, not its agent
        process.send_signal(signal.SIGTERM)
    assert _all_end(nodes, timeout=120) == [143, 143], nodes[0].stderr[-3000:] + nodes[1].stderr[-3000:]
    stopped = [line for node in nodes for line in node.stdout.splitlines() + node.stderr.splitlines()
               if 'stopped by SIGTERM at iteration' in line]
    iteration = int(stopped[0].split('at iteration ')[1].split(':')[0])
    assert (work_dir / f'iter_{iteration}.pth').is_file()
    for node in nodes:
        assert 'the training processes stopped on a signal (exit status 143)' in node.stderr
        assert 'Traceback' not in node.stderr and 'ChildFailedError' not in node.stderr

    # SIGTERM to every process of both nodes, agents included, as Slurm signals a job step
    again = _nodes(tmp_path, 'all', args)
    _wait_for_step(work_dir, iteration + 2, again)
    for node in again:
        node.kill(signal.SIGTERM)
    assert _all_end(again, timeout=180) == [143, 143], again[0].stderr[-3000:] + again[1].stderr[-3000:]
    assert f'continuing from {work_dir}/iter_{iteration}.pth' in again[0].stderr
    second = int(open(work_dir / 'last_checkpoint').read().strip().split('iter_')[1].split('.')[0])
    assert second > iteration
    assert _losses(work_dir) == list(range(1, second + 1))  # every iteration trained once


def test_a_node_killed_ends_the_other_with_one_paragraph_and_both_continue(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    args = ['--iters', 20, '--work-dir', work_dir, '--dist-timeout', 60, *CHECKPOINT_EVERY_2]
    nodes = _nodes(tmp_path, 'dies', args)
    _wait_for_step(work_dir, 3, nodes)
    nodes[1].kill(signal.SIGKILL)  # its agent, its training process and loader workers at once
    killed = time.monotonic()
    assert nodes[0].wait(timeout=120) == 2, nodes[0].stderr[-3000:]
    took = time.monotonic() - killed
    print(f'the surviving node stopped {took:.1f} s after the other was killed')
    assert took < 60
    err = nodes[0].stderr
    assert 'Rank 0 lost contact with the other training processes at iteration' in err, err[-3000:]
    assert 'rank 1 (node 1, local rank 0' in err and 'did not answer' in err
    assert 'Start the job again on every node' in err
    assert 'torchrun: rank 0 failed (exit status 2)' in err
    last = open(work_dir / 'last_checkpoint').read().strip()
    import torch
    torch.load(last, map_location='cpu', weights_only=True)  # whole

    # a node that stops answering without a word (frozen, cut off): the survivor waits --dist-timeout, no longer
    frozen_args = ['--iters', 20, '--work-dir', work_dir, '--dist-timeout', 20, *CHECKPOINT_EVERY_2]
    rerun = _nodes(tmp_path, 'rerun', frozen_args)
    first = int(last.split('iter_')[1].split('.')[0])
    _wait_for_step(work_dir, first + 2, rerun)
    assert f'continuing from {last}' in rerun[0].stderr
    rerun[1].kill(signal.SIGSTOP)
    frozen = time.monotonic()
    assert rerun[0].wait(timeout=120) == 2, rerun[0].stderr[-3000:]
    waited = time.monotonic() - frozen
    print(f'the surviving node stopped {waited:.1f} s after the other froze (--dist-timeout 20)')
    assert 20 <= waited < 90
    assert 'rank 1 (node 1, local rank 0' in rerun[0].stderr and '--dist-timeout, 20 s' in rerun[0].stderr
    rerun[1].kill(signal.SIGKILL)
    rerun[1].wait()
