"""A rerun after an edit never mixes two runs: it stops and names what changed, or continues with the edited
config on request. A rerun that only raises --iters continues and says what the LR schedule does, except past a
schedule that has ended (or ends at LR 0): that stops with the choices, --stretch-schedule or --keep-schedule."""
import shutil

import pytest

from conftest import add_to_config, run_script, scalars, user_error

pytestmark = pytest.mark.xdist_group('fcn_testcopy_guard')  # its tests share the script copy's name

NEW_LR = 0.02  # the FCN recipe's 0.01 doubled


def _lrs(work_dir):
    return {r['step']: r['lr'] for r in scalars(work_dir) if 'lr' in r}


@pytest.fixture(scope='module')
def two_step_run(tiny_ade, tmp_path_factory):
    """A run of `train_fcn.py --smoke --iters 2` (the copies below train the same config), made once."""
    work_dir = tmp_path_factory.mktemp('guard') / 'run'
    first = run_script('fcn', '--smoke', '--iters', 2, '--work-dir', work_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    return work_dir


@pytest.fixture
def trained_two_steps(two_step_run, script_copy, tmp_path):
    """train_fcn_testcopy_guard.py (a copy of train_fcn.py) trained 2 smoke iterations in tmp_path/run."""
    script_copy('fcn', 'fcn_testcopy_guard')
    shutil.copytree(two_step_run, tmp_path / 'run')
    (tmp_path / 'run' / 'last_checkpoint').write_text(str(tmp_path / 'run' / 'iter_2.pth'))
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


def test_raising_iters_past_the_ended_schedule_stops_with_the_choices(trained_two_steps):
    work_dir = trained_two_steps
    stopped = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir)
    user_error(stopped, '--iters grew from 2 to 4', 'its LR schedule ended at iteration 2', 'iterations 3-4',
               '--restart', '--stretch-schedule', '--keep-schedule', 'the learning rate goes from')
    assert not (work_dir / 'iter_4.pth').exists()

    kept = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir, '--keep-schedule')
    assert kept.returncode == 0, kept.stderr[-3000:]
    log = kept.stdout + kept.stderr
    assert f'continuing from {work_dir}/iter_2.pth' in log
    assert '--iters grew from 2 to 4' in log and 'ends at iteration 2' in log and 'stays at its final value' in log
    lrs = _lrs(work_dir)
    assert lrs[3] == pytest.approx(lrs[4])  # past the recorded schedule's end the LR stays


def test_a_stretched_schedule_is_the_schedule_of_a_run_planned_that_long(trained_two_steps, tmp_path):
    work_dir = trained_two_steps
    stretched = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir, '--stretch-schedule')
    assert stretched.returncode == 0, stretched.stderr[-3000:]
    log = stretched.stdout + stretched.stderr
    assert '--stretch-schedule continues with the LR schedule of a 4-iteration run at iteration 2' in log
    planned = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', tmp_path / 'planned')
    assert planned.returncode == 0, planned.stderr[-3000:]
    ours, theirs = _lrs(work_dir), _lrs(tmp_path / 'planned')
    assert [ours[i] for i in (3, 4)] == pytest.approx([theirs[i] for i in (3, 4)])  # iteration by iteration
    assert ours[2] != pytest.approx(theirs[2])  # (iterations 1-2 were trained on the 2-iteration schedule)


def test_raising_iters_mid_schedule_continues_and_says_what_the_schedule_does(script_copy, tiny_ade, tmp_path):
    script_copy('fcn', 'fcn_testcopy_guard')
    work_dir = tmp_path / 'run'
    first = run_script('fcn_testcopy_guard', '--smoke', '--iters', 4, '--work-dir', work_dir,
                       '--cfg-options', 'default_hooks.checkpoint.interval=2')
    assert first.returncode == 0, first.stderr[-3000:]
    for path in work_dir.glob('*iter_4.pth'):  # as if it had been interrupted after iteration 2
        path.unlink()
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_2.pth'))
    longer = run_script('fcn_testcopy_guard', '--smoke', '--iters', 6, '--work-dir', work_dir,
                        '--cfg-options', 'default_hooks.checkpoint.interval=2')
    assert longer.returncode == 0, longer.stderr[-3000:]
    log = longer.stdout + longer.stderr
    assert f'continuing from {work_dir}/iter_2.pth' in log
    assert '--iters grew from 4 to 6' in log and 'ends at iteration 4' in log and 'stays at its final value' in log
    lrs = _lrs(work_dir)
    assert lrs[3] > lrs[4] > 0 and lrs[5] == pytest.approx(lrs[6])  # the recorded schedule to 4, then its end


def test_which_extensions_stop(tmp_path):
    """extended_schedule on the recorded and the new config, without training: ended, or ending at LR 0, stops."""
    from training.errors import UserError
    from training.experiments import load_script
    from training.resume.longer_schedule import KEEP, STRETCH, extended_schedule
    from training.run_config import build_config
    script = load_script('fcn')

    def cfg(iters, *options):
        return build_config(script.config, script.OFFICIAL, ['--smoke', '--iters', str(iters),
                                                             *(['--cfg-options', *options] if options else [])])[0]

    def checkpoint(at, lr):
        return {'meta': {'iter': at}, 'optimizer': {'param_groups': [{'lr': lr, 'initial_lr': 0.01}]}}
    assert extended_schedule(cfg(4), cfg(4), checkpoint(2, 0.005), None) is None  # not grown
    with pytest.raises(UserError, match='ended at iteration 4'):
        extended_schedule(cfg(4), cfg(8), checkpoint(4, 1e-4), None)
    assert extended_schedule(cfg(4), cfg(8), checkpoint(2, 0.005), None)[0] == KEEP  # mid-schedule, ends at 1e-4
    no_floor = 'param_scheduler.0.eta_min=0'
    with pytest.raises(UserError, match='ends at iteration 4 with a learning rate of 0'):
        extended_schedule(cfg(4, no_floor), cfg(8, no_floor), checkpoint(2, 0.005), None)
    choice, line = extended_schedule(cfg(4, no_floor), cfg(8, no_floor), checkpoint(4, 0.0), STRETCH)
    assert choice == STRETCH and 'goes from 0 to 0.00' in line
    assert extended_schedule(cfg(4), cfg(8), checkpoint(4, 1e-4), KEEP)[0] == KEEP
