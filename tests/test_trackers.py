"""--log-to mlflow and wandb (training/trackers.py) with real parts: a real `mlflow server` on 127.0.0.1 (SQLite
backend) read back through MLflow's client, W&B in offline mode read back from its own run files; the validation loss
(training/validation_loss.py) in the log, scalars.json, TensorBoard and the HTML report; a run named by its config
(training/run_summary.py), not by its folder."""
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import REPO, run_script, run_tool, scalars, trained_steps, wait_for_step
from mlflow_server import MlflowServer
from wandb_records import offline_runs

pytestmark = pytest.mark.slow(2)  # (minutes; the longest start first: conftest.py)

ITERS = 6
# a validation every 2 iterations, a checkpoint every 2, no panels (the per-class figures stay)
RUN = ('--smoke', '--iters', ITERS, '--cfg-options', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
       'val_report.images=0')


def _start(work_dir, *extra, env):
    return subprocess.Popen([sys.executable, 'train_fcn.py', *map(str, RUN), '--work-dir', str(work_dir), *extra],
                            cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=dict(os.environ, **env), start_new_session=True)


def _finish(process, timeout=600):
    try:
        output, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return output


def _history(client, run_id, key):
    return [(metric.step, metric.value) for metric in sorted(client.get_metric_history(run_id, key),
                                                             key=lambda metric: metric.step)]


def test_mlflow_server_gets_the_run_and_a_sigterm_rerun_continues_it(tiny_ade, tmp_path):
    """A real tracking server receives params, metrics at our iterations (train loss, mIoU, val loss) and the best
    checkpoint; SIGTERM uploads what the run has and marks it stopped; the rerun continues the same MLflow run with
    each step once. The validation loss is also in the log, scalars.json, TensorBoard and the HTML report."""
    from mlflow.tracking import MlflowClient
    work_dir = tmp_path / 'fcn_ade20k'
    with MlflowServer(tmp_path / 'server') as server:
        env = dict(MLFLOW_TRACKING_URI=server.uri, MLFLOW_EXPERIMENT_NAME='trackers-test')
        process = _start(work_dir, '--log-to', 'tensorboard,mlflow', env=env)
        wait_for_step(process, work_dir, 3)
        os.killpg(process.pid, signal.SIGTERM)
        output = _finish(process)
        assert process.returncode == 143, output[-3000:]
        client = MlflowClient(server.uri)
        experiment = client.get_experiment_by_name('trackers-test')
        [stopped] = client.search_runs([experiment.experiment_id])
        assert stopped.info.status == 'KILLED' and stopped.info.run_name == 'fcn_ade20k'
        assert any(a.path.startswith('checkpoints/best_mIoU_iter_') for a in
                   client.list_artifacts(stopped.info.run_id, 'checkpoints'))  # uploaded at the stop

        rerun = run_script('fcn', *RUN, '--work-dir', work_dir, '--log-to', 'tensorboard,mlflow', env=env)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        [run] = client.search_runs([experiment.experiment_id])
        assert run.info.run_id == stopped.info.run_id and run.info.status == 'FINISHED'
        assert [step for step, _ in _history(client, run.info.run_id, 'loss')] == list(range(1, ITERS + 1))
        # the validations that ran: every second iteration, but the one where SIGTERM stopped the run (a stopping run
        # does not validate; its rerun starts after it)
        validated = [r['step'] for r in scalars(work_dir) if 'mIoU' in r]
        assert {2, ITERS} <= set(validated) <= {2, 4, ITERS}
        assert [step for step, _ in _history(client, run.info.run_id, 'mIoU')] == validated
        val_losses = _history(client, run.info.run_id, 'val_loss')
        assert [step for step, _ in val_losses] == validated and all(0 < value < 20 for _, value in val_losses)
        assert run.data.params['optim_wrapper.optimizer.lr'] == '0.01'
        assert run.data.params['train_cfg.max_iters'] == str(ITERS) and run.data.tags['model'] == 'fcn'
        [best] = work_dir.glob('best_mIoU_iter_*.pth')  # (the stopped run's best went up at its stop, before it)
        assert f'checkpoints/{best.name}' in [a.path for a in client.list_artifacts(run.info.run_id, 'checkpoints')]
        assert 'report.html' in [a.path for a in client.list_artifacts(run.info.run_id)]

    # the validation loss beside mIoU everywhere the run logs
    validations = [r for r in scalars(work_dir) if 'mIoU' in r]
    assert [(r['step'], r['val_loss']) for r in validations] == [(step, pytest.approx(value, abs=1e-4))
                                                                 for step, value in val_losses]
    assert all(r['val_loss'] == pytest.approx(r['val_decode.loss_ce'] + r['val_aux.loss_ce'], abs=2e-4)
               for r in validations)
    assert 'val_loss: ' in rerun.stdout + rerun.stderr
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = [EventAccumulator(str(path.parent)).Reload() for path in work_dir.glob('*/vis_data/events.out.*')]
    assert sorted(event.step for accumulator in events if 'val_loss' in accumulator.Tags()['scalars']
                  for event in accumulator.Scalars('val_loss')) == validated
    assert 'loss (train and validation)' in (work_dir / 'report.html').read_text()


def test_training_finishes_when_the_mlflow_server_stops_mid_run(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn_ade20k'
    server = MlflowServer(tmp_path / 'server').start()
    try:
        process = _start(work_dir, '--log-to', 'mlflow',
                         env=dict(MLFLOW_TRACKING_URI=server.uri, MLFLOW_CLOSE_WAIT='3'))
        wait_for_step(process, work_dir, 2)
    finally:
        server.stop()
    output = _finish(process)
    assert process.returncode == 0, output[-3000:]
    assert f'--log-to mlflow: the MLflow tracking server at {server.uri} did not take' in output
    assert 'Training goes on' in output and 'Traceback' not in output
    assert "mIoU: " in output and trained_steps(work_dir) == list(range(1, ITERS + 1))


def test_wandb_offline_run_continued_after_sigterm_keeps_one_id_and_each_step_once(tiny_ade, tmp_path):
    """SIGTERM after iteration 2 or later, then the same command: the rerun continues the same W&B run id; the offline
    files, read back with wandb's own Record classes, hold each step once and in order."""
    work_dir = tmp_path / 'fcn_ade20k'
    env = dict(WANDB_MODE='offline', WANDB_SILENT='true')
    process = _start(work_dir, '--log-to', 'wandb', env=env)
    wait_for_step(process, work_dir, 2)
    os.killpg(process.pid, signal.SIGTERM)
    output = _finish(process)
    assert process.returncode == 143, output[-3000:]
    rerun = run_script('fcn', *RUN, '--work-dir', work_dir, '--log-to', 'wandb', env=env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    runs = offline_runs(work_dir)
    assert len(runs) == 2 and runs[0][0] == runs[1][0]  # two processes, one W&B run id
    steps = [row['_step'] for _, history in runs for row in history if 'loss' in row]
    assert steps == list(range(1, ITERS + 1))  # each step once, increasing across both processes
    validated = [r['step'] for r in scalars(work_dir) if 'mIoU' in r]
    assert [row['_step'] for _, history in runs for row in history if 'val_loss' in row] == validated
    assert ITERS in validated
    # the per-class figures as a W&B table (one row per class) at each validation
    assert [row['_step'] for _, history in runs for row in history if row.get('val_per_class/nrows') == 150] == validated


def test_a_copied_run_is_named_by_its_config_not_its_folder(fcn_smoke, tmp_path):
    """A new user's try: summarize.py on a copy of a run in a folder of their own naming."""
    work_dir, _ = fcn_smoke
    copy = tmp_path / 'my_run'
    shutil.copytree(work_dir, copy, ignore=shutil.ignore_patterns('*.pth'))
    result = run_tool('summarize.py', str(copy), '--out', str(tmp_path / 'results.md'), '--html',
                      str(tmp_path / 'report.html'))
    assert result.returncode == 0, result.stderr[-3000:]
    [row] = [line for line in result.stdout.splitlines() if line.startswith('| fcn |')]
    from training.experiments import official_of
    assert f'| {official_of("fcn")["miou"]:.2f} |' in row  # the official figure of fcn, looked up by the run's model
    assert 'my_run' not in result.stdout.split('saved:')[0]
    assert 'href="#run-fcn"' in (tmp_path / 'report.html').read_text()


def test_an_unknown_tracker_is_refused_with_the_choices(tiny_ade, tmp_path):
    result = run_script('fcn', '--smoke', '--log-to', 'tensorboard,comet', '--work-dir', tmp_path / 'fcn')
    assert result.returncode == 2
    assert "--log-to 'tensorboard,comet': unknown tracker comet; choose from tensorboard,wandb,mlflow" in result.stderr


def test_mlflow_in_the_work_dir_by_default_and_closed_without_a_config(tmp_path):
    """Two of MMEngine 0.10.7's MLflowVisBackend bugs, where ours does not have them: mlflow 3 refuses its default file
    store (ours: a SQLite file in the work dir), and close() fails when add_config was never called."""
    from mlflow.tracking import MlflowClient
    from training.trackers import MLflowTracker, read_state
    work_dir = tmp_path / 'my_run'
    tracker = MLflowTracker(save_dir=str(work_dir / '20261208_000000' / 'vis_data'))
    os.makedirs(work_dir)
    tracker.add_scalars({'loss': 2.5, 'lr': 0.01}, step=7)
    tracker.close()  # (no add_config before it)
    state = read_state(work_dir)['mlflow']
    assert state['uri'] == f'sqlite:///{work_dir}/mlflow.db' and state['last_step'] == 7
    client = MlflowClient(state['uri'])
    assert [(m.step, m.value) for m in client.get_metric_history(state['run_id'], 'loss')] == [(7, 2.5)]
    assert client.get_run(state['run_id']).info.run_name == 'my_run'


def test_a_missing_tracker_package_gets_the_pip_line(monkeypatch):
    from mmengine.config import Config
    from training import trackers
    from training.errors import UserError
    monkeypatch.setattr(trackers, '_importable', lambda name: name != 'wandb')
    cfg = Config(dict(log_to=['tensorboard', 'wandb'], visualizer=dict(type='SegLocalVisualizer')))
    with pytest.raises(UserError, match=r'the wandb package is not installed .*/pip install wandb==0\.31\.0'):
        trackers.set_trackers(cfg)
    monkeypatch.setattr(trackers, '_importable', lambda name: True)
    trackers.set_trackers(cfg)
    assert [backend['type'] for backend in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend', 'WandbTracker']
