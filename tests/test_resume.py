"""Running the same command again continues where the last run stopped (torch >= 2.6 included)."""
import os
import signal
import subprocess
import sys
import time

from conftest import REFERENCE_ITERS, REPO, different_weights, final_miou, run_script, scalars


def _trained_steps(work_dir):
    return [r['step'] for r in scalars(work_dir) if 'loss' in r]


def test_longer_rerun_resumes(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    first = run_script('fcn', '--smoke', '--iters', 2, '--work-dir', work_dir)
    assert first.returncode == 0, first.stderr[-5000:]
    second = run_script('fcn', '--smoke', '--iters', 4, '--work-dir', work_dir, '--stretch-schedule')
    assert second.returncode == 0, second.stderr[-5000:]  # (without a choice for the ended schedule: test_resume_guard)
    assert f'continuing from {work_dir}/iter_2.pth' in second.stderr
    assert 'Weights only load failed' not in second.stderr
    assert _trained_steps(work_dir) == [1, 2, 3, 4]  # the second run trained 3 and 4 only
    final_miou(second.stdout)
    # One best checkpoint, the better validation's. (At a new best, iter_2.pth is not written a second time to record
    # it: the second run took the best's score and path from best_mIoU_iter_2.pth. Without them, it would have kept
    # that file beside its own new best, or called a worse iteration 4 the best.)
    miou_at = {r['step']: r['mIoU'] for r in scalars(work_dir) if 'mIoU' in r}
    assert sorted(miou_at) == [2, 4]
    assert [path.name for path in work_dir.glob('best_*.pth')] == [f'best_mIoU_iter_{max(miou_at, key=miou_at.get)}.pth']

    again = run_script('fcn', '--smoke', '--iters', 4, '--work-dir', work_dir)
    assert again.returncode == 0 and 'already trained to 4 iterations' in again.stderr
    restart = run_script('fcn', '--smoke', '--iters', 1, '--work-dir', work_dir, '--restart')
    assert restart.returncode == 0, restart.stderr[-5000:]
    kept = [d for d in os.listdir(tmp_path) if d.startswith('fcn_')]
    assert len(kept) == 1 and os.path.isfile(tmp_path / kept[0] / 'iter_4.pth')  # nothing lost
    assert _trained_steps(work_dir) == [1]


def test_killed_run_continues_and_ends_with_the_weights_of_a_run_left_alone(fcn_reference, tmp_path):
    work_dir = tmp_path / 'fcn'
    iters = REFERENCE_ITERS
    command = [sys.executable, 'train_fcn.py', '--smoke', '--iters', str(iters), '--work-dir', str(work_dir),
               '--cfg-options', 'default_hooks.checkpoint.interval=2']
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def pointer():  # MMEngine writes last_checkpoint after the checkpoint itself
        path = work_dir / 'last_checkpoint'
        return path.read_text() if path.is_file() else ''

    deadline = time.time() + 600
    while 'iter_4' not in pointer() and process.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL  # killed mid-run, not finished
    assert os.path.isfile(work_dir / 'iter_4.pth') and not os.path.isfile(work_dir / f'iter_{iters}.pth')

    rerun = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    assert 'continuing from' in rerun.stderr
    resumed_from = int(rerun.stderr.split('continuing from ')[1].split('iter_')[1].split('.pth')[0])
    assert resumed_from >= 4
    steps = _trained_steps(work_dir)
    assert steps[-(iters - resumed_from):] == list(range(resumed_from + 1, iters + 1))
    assert different_weights(work_dir / f'iter_{iters}.pth', fcn_reference) == []


def test_broken_pointer_and_cut_off_checkpoint_fall_back_to_the_last_good_one(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    first = run_script('fcn', '--smoke', '--iters', 4, '--work-dir', work_dir,
                       '--cfg-options', 'default_hooks.checkpoint.interval=2')
    assert first.returncode == 0, first.stderr[-5000:]
    newest = work_dir / 'iter_4.pth'
    newest.write_bytes(newest.read_bytes()[:newest.stat().st_size // 2])  # as if cut off mid-write
    (work_dir / 'last_checkpoint').write_text('')                         # and the pointer with it
    rerun = run_script('fcn', '--smoke', '--iters', 6, '--work-dir', work_dir)
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    assert f'continuing from {work_dir}/iter_2.pth' in rerun.stderr
    assert 'skipping unreadable checkpoint' in rerun.stderr and 'warning:' in rerun.stderr
    assert _trained_steps(work_dir)[-4:] == [3, 4, 5, 6]
