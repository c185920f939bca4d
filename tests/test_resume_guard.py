"""A rerun after an edit never mixes two runs: it stops and names what changed, or continues with the edited
config on request; a rerun that only raises --iters continues and says what the LR schedule does."""
import pytest

from conftest import add_to_config, run_script, scalars, user_error

NEW_LR = 0.02  # the FCN recipe's 0.01 doubled


def _lrs(work_dir):
    return {r['step']: r['lr'] for r in scalars(work_dir) if 'lr' in r}


@pytest.fixture
def trained_two_steps(script_copy, tiny_ade, tmp_path):
    """train_fcn_guard.py trained 2 of 4 smoke iterations in tmp_path/run."""
    script_copy('fcn', 'fcn_testcopy_guard')
    first = run_script('fcn_testcopy_guard', '--smoke', '--iters', 2, '--work-dir', tmp_path / 'run')
    assert first.returncode == 0, first.stderr[-3000:]
    return tmp_path / 'run'


def test_edited_lr_stops_the_rerun_then_continues_on_request(trained_two_steps, script_copy, tmp_path):
    work_dir = trained_two_steps
    script_copy('fcn', 'fcn_testcopy_guard', add_to_config(f'cfg.optim_wrapper.optimizer.lr = {NEW_LR}'))
    stopped = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir)
    user_error(stopped, 'optim_wrapper.optimizer.lr: 0.01 -> 0.02', 'iter_2.pth', '--restart',
               f'--work-dir {work_dir}_v2', '--resume-with-new-config')
    assert not (work_dir / 'iter_4.pth').exists()

    continued = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir, '--resume-with-new-config')
    assert continued.returncode == 0, continued.stderr[-3000:]
    assert 'with the edited config: learning rate now' in continued.stdout + continued.stderr
    # iterations 3 and 4 train at the new schedule's LR, as a run of the edited config from the start would
    fresh = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', tmp_path / 'fresh')
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    continued_lr, fresh_lr = _lrs(work_dir), _lrs(tmp_path / 'fresh')
    assert continued_lr[3] == pytest.approx(fresh_lr[3]) and continued_lr[4] == pytest.approx(fresh_lr[4])
    assert fresh_lr[1] == pytest.approx(NEW_LR) and continued_lr[1] == pytest.approx(0.01)

    again = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir)  # recorded now: no change
    assert again.returncode == 0 and 'already trained to 4 iterations' in again.stderr


def test_architecture_change_with_the_flag_names_the_parameter(trained_two_steps, script_copy):
    script_copy('fcn', 'fcn_testcopy_guard', add_to_config('cfg.model.decode_head.channels = 128'))
    result = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', trained_two_steps,
                        '--resume-with-new-config')
    user_error(result, 'does not fit', 'decode_head.', 'has shape', '--restart')


def test_restart_and_work_dir_still_work_after_an_edit(trained_two_steps, script_copy, tmp_path):
    script_copy('fcn', 'fcn_testcopy_guard', add_to_config('cfg.model.decode_head.channels = 128'))
    elsewhere = run_script('fcn_testcopy_guard', '--smoke', '--iters', 2, '--work-dir', tmp_path / 'other')
    assert elsewhere.returncode == 0, elsewhere.stderr[-3000:]
    restarted = run_script('fcn_testcopy_guard', '--smoke', '--iters', 2, '--work-dir', trained_two_steps, '--restart')
    assert restarted.returncode == 0, restarted.stderr[-3000:]
    assert '--restart: the previous run is kept in' in restarted.stderr


def test_raising_iters_continues_and_says_what_the_schedule_does(trained_two_steps):
    longer = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', trained_two_steps)
    assert longer.returncode == 0, longer.stderr[-3000:]
    log = longer.stdout + longer.stderr
    assert f'continuing from {trained_two_steps}/iter_2.pth' in log
    assert '--iters grew from 2 to 4' in log and 'ends at iteration 2' in log and 'stays at its final value' in log
    lrs = _lrs(trained_two_steps)
    assert lrs[3] == pytest.approx(lrs[4])  # past the recorded schedule's end the LR stays
