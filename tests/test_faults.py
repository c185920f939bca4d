"""A full disk while a checkpoint is written, and a loader worker killed by the kernel: one paragraph each, exit 2,
nothing half-written, and the same command continues from the last good checkpoint (training/faults.py)."""
import contextlib
import errno
import shutil
import signal
import subprocess
import sys
import time
import types

import psutil
import pytest

from conftest import REPO, run_script, scalars, user_error
from training.checkpoints import last_good_checkpoint


def _trained_steps(work_dir):
    return [r['step'] for r in scalars(work_dir) if 'loss' in r]


@contextlib.contextmanager
def small_filesystem(path, megabytes):
    """A real filesystem of `megabytes` at `path` (tmpfs; mounting needs root, as on the CI machine)."""
    path.mkdir()
    mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={megabytes}M', 'tmpfs', str(path)],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f'cannot mount a small filesystem here (needs root): {mounted.stderr}'
    try:
        yield path
    finally:
        subprocess.run(['umount', '-l', str(path)], check=True)


def test_a_full_disk_at_a_checkpoint_stops_with_the_paragraph_and_the_run_continues_elsewhere(tiny_ade, tmp_path):
    # one FCN smoke checkpoint (weights + SGD momentum) is ~400 MB: 600 MB hold iter_2.pth, not iter_4.pth beside it
    args = ['--smoke', '--iters', 4, '--cfg-options', 'default_hooks.checkpoint.interval=2']
    with small_filesystem(tmp_path / 'small', 600) as small:
        work_dir = small / 'fcn'
        full = run_script('fcn', *args, '--work-dir', work_dir)
        user_error(full, f'The disk of {work_dir} is full', 'one checkpoint of this model takes about 0.4 GB',
                   'Nothing half-written was kept', f'continues from {work_dir}/iter_2.pth')
        assert sorted(p.name for p in work_dir.glob('*.pth*')) == ['iter_2.pth']  # no partial iter_4 left behind
        assert last_good_checkpoint(work_dir) == str(work_dir / 'iter_2.pth')
        shutil.copytree(work_dir, tmp_path / 'fcn')  # "move the work dir to a larger disk"
    moved = run_script('fcn', *args, '--work-dir', tmp_path / 'fcn')
    assert moved.returncode == 0, moved.stderr[-3000:]
    assert f'continuing from {tmp_path}/fcn/iter_2.pth' in moved.stderr
    assert _trained_steps(tmp_path / 'fcn')[-2:] == [3, 4]


def test_a_disk_too_small_for_one_checkpoint_is_warned_about_at_start(tmp_path, monkeypatch, capsys):
    from training import disk, faults
    monkeypatch.setattr(disk.shutil, 'disk_usage', lambda path: types.SimpleNamespace(total=10**12, used=10**12 - 10**8,
                                                                                       free=10**8))
    faults.warn_if_disk_is_short(str(tmp_path), 4 * 10**8)
    warning = capsys.readouterr().err
    assert f'warning: {tmp_path} has 0.1 GB free' in warning and 'takes about 0.4 GB' in warning
    faults.warn_if_disk_is_short(str(tmp_path), 10**7)
    assert capsys.readouterr().err == ''


def test_only_a_full_disk_is_turned_into_the_paragraph(tmp_path):
    from training.errors import UserError
    from training.faults import explained_faults
    with pytest.raises(UserError, match='is full'), explained_faults(str(tmp_path), 10**8, 2):
        raise OSError(errno.ENOSPC, 'No space left on device')
    with pytest.raises(PermissionError), explained_faults(str(tmp_path), 10**8, 2):
        raise PermissionError(errno.EACCES, 'Permission denied')


@pytest.fixture
def loader_worker():
    """A real child process that PyTorch's worker check watches, as a DataLoader registers its workers."""
    from training import compat
    worker = subprocess.Popen(['sleep', '60'])
    compat.watch_loader_workers(id(worker), (worker.pid,))
    yield worker
    compat.unwatch_loader_workers(id(worker))
    worker.kill()
    worker.wait()


def test_a_worker_killed_while_its_batch_is_received_is_explained_too(tmp_path, loader_worker):
    """The race the end-to-end test below can hit: the main process is unpickling a batch from the worker the kernel
    kills, sees the memory-sharing connection reset before the worker is a zombie, and PyTorch re-raises that."""
    from training.errors import UserError
    from training.faults import explained_faults
    with pytest.raises(UserError, match=rf'A data-loader worker died \(DataLoader worker \(pid {loader_worker.pid}\) '
                                        'is killed by signal: Killed'), explained_faults(str(tmp_path), 10**8, 2):
        loader_worker.send_signal(signal.SIGKILL)
        raise ConnectionResetError(104, 'Connection reset by peer')
    with pytest.raises(ConnectionResetError), explained_faults(str(tmp_path), 10**8, 0):  # no loader workers
        raise ConnectionResetError(104, 'Connection reset by peer')


def test_a_dead_worker_is_recorded_where_it_dies_and_named_where_the_loader_notices(tmp_path, loader_worker):
    """PyTorch's SIGCHLD handler would raise out of whatever line runs when the worker dies (here: a sleep); the
    recorded line comes out where the loader's liveness check raises, with the signal's name in it."""
    from training import compat
    from training.errors import UserError
    from training.faults import explained_faults
    handler_before = signal.getsignal(signal.SIGCHLD)
    with pytest.raises(UserError, match=rf'\(DataLoader worker \(pid {loader_worker.pid}\) is killed by signal: '
                                        'Killed'), explained_faults(str(tmp_path), 10**8, 2):
        loader_worker.send_signal(signal.SIGKILL)
        time.sleep(1)  # the SIGCHLD arrives here, and nothing is raised out of the sleep
        raise RuntimeError(f'DataLoader worker (pid(s) {loader_worker.pid}) exited unexpectedly')  # the loader's check
    assert signal.getsignal(signal.SIGCHLD) == handler_before and not compat.loader_sigchld_handler_installed()


def test_a_reset_connection_with_every_worker_alive_is_not_blamed_on_them(tmp_path):
    from training.faults import explained_faults
    started = time.monotonic()
    with pytest.raises(ConnectionResetError), explained_faults(str(tmp_path), 10**8, 2):
        raise ConnectionResetError(104, 'Connection reset by peer')
    assert time.monotonic() - started < 10  # it looked for a dead worker for a few seconds, then let the error be


@pytest.mark.slow(1)
def test_a_killed_loader_worker_is_explained_and_the_run_continues(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    args = ['--smoke', '--iters', 16, '--work-dir', work_dir, '--cfg-options', 'default_hooks.checkpoint.interval=4',
            'train_dataloader.num_workers=2', 'train_dataloader.persistent_workers=True']
    process = subprocess.Popen([sys.executable, 'train_fcn.py', *map(str, args)], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while not (work_dir / 'iter_4.pth').is_file() and process.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    workers = psutil.Process(process.pid).children()
    assert len(workers) == 2, workers
    workers[0].send_signal(signal.SIGKILL)  # as the kernel's out-of-memory killer does
    stdout, stderr = process.communicate(timeout=600)
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    user_error(result, 'A data-loader worker died', str(workers[0].pid), 'out-of-memory',
               'uses 2 loader worker(s)', '--cfg-options train_dataloader.num_workers=1', 'continues from')
    last = last_good_checkpoint(work_dir)
    assert last and f'continues from {last}' in stderr

    rerun = run_script('fcn', *args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f'continuing from {last}' in rerun.stderr
    assert _trained_steps(work_dir)[-1] == 16
