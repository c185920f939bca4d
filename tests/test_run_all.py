"""run_all.py: a set of the scripts as jobs through submitit (training/collection/): the local executor two at a
time, a rerun that skips what is done, a failing job reported while the others finish, --status and the closing
summary following the runs as they were run (work dirs, smoke runs, a final checkpoint gone), and the Slurm
submission's text (the real cluster: test_slurm.py)."""
import json
import re
import subprocess
import sys

import pytest

from conftest import REPO, add_to_config, run_tool, table_cells

MODELS = ['fcn', 'segformer', 'stdc']


def _run_all(*args):
    return subprocess.run([sys.executable, 'run_all.py', *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)


@pytest.mark.slow(1.5)
def test_three_models_two_at_a_time_a_failure_reported_and_a_rerun_skips_the_finished(script_copy, tiny_ade,
                                                                                        tmp_path):
    script_copy('fcn', 'fcn_testcopy_broken', add_to_config('cfg.model.backbone.depth = 51'))  # ResNet-51: none
    args = [*MODELS, 'fcn_testcopy_broken', '--jobs', 2, '--folder', tmp_path / 'jobs',
            '--smoke', '--work-dir', f'{tmp_path}/runs/{{name}}_ade20k']  # (the last two go to the scripts)
    first = _run_all(*args)
    log = first.stdout + first.stderr
    assert first.returncode == 1, log[-3000:]  # one failed
    events = re.findall(r'\[run_all\] (\w+): (started|done|failed)', first.stdout)
    started = [model for model, what in events if what == 'started']
    assert started == ['fcn', 'fcn_testcopy_broken', 'segformer', 'stdc']  # in the collection's order
    # two at a time: the third starts once one has ended, the fourth once another has
    assert [what for _, what in events[:2]] == ['started', 'started'] and events[2][1] != 'started'
    assert events.index(('segformer', 'started')) > 2 and events.index(('stdc', 'started')) > 3
    for model in MODELS:
        assert (tmp_path / 'runs' / f'{model}_ade20k' / 'iter_4.pth').is_file()
        row = table_cells(first.stdout, model)
        assert row[1:3] == ['done', '4 / 4'] and float(row[3]) >= 0 and row[5] == 'smoke'
        assert row[6] == str(tmp_path / 'runs' / f'{model}_ade20k') and row[7].endswith('.log')  # (shown whole)
    failed = first.stdout.split('failed:\n')[1].splitlines()[0]  # the failures, each with its error line
    assert failed.startswith('  fcn_testcopy_broken: ') and 'invalid depth 51 for resnet' in failed
    # the closing summary: exactly this collection's runs, in their --work-dir, smoke runs never compared
    assert re.search(r'\| fcn \| smoke \| [\d.]+ \| 4 \| 35.94 \| — \(smoke run\) \|', first.stdout)
    summary = (tmp_path / 'jobs' / 'results.md').read_text()
    assert [line.split('|')[1].strip() for line in summary.splitlines() if line.startswith('| ') and '---' not in line
            ][1:] == MODELS and (tmp_path / 'jobs' / 'results.png').is_file()
    assert f'report: {tmp_path / "jobs" / "report.html"}' in first.stdout  # the HTML report of the collection
    assert all(f'id="run-{model}"' in (tmp_path / 'jobs' / 'report.html').read_text() for model in MODELS)
    state = json.loads((tmp_path / 'jobs' / 'jobs.json').read_text())
    assert state['fcn']['state'] == 'done' and state['fcn_testcopy_broken']['state'] == 'failed'
    assert state['fcn']['work_dir'] == str(tmp_path / 'runs' / 'fcn_ade20k') and state['fcn']['max_iters'] == 4
    assert state['fcn']['args'] == ['--smoke', '--work-dir', f'{tmp_path}/runs/{{name}}_ade20k'] and state['fcn']['smoke']

    status = _run_all('--status', '--folder', tmp_path / 'jobs')  # no models, no flags: as the runs were run
    assert status.returncode == 1, status.stderr[-3000:]  # (one failed)
    assert f'report: {tmp_path / "jobs" / "report.html"}' in status.stdout
    assert [table_cells(status.stdout, model)[1] for model in MODELS + ['fcn_testcopy_broken']] == [
        'done', 'done', 'done', 'failed']
    assert table_cells(status.stdout, 'stdc')[6] == str(tmp_path / 'runs' / 'stdc_ade20k')
    assert 'segformer' not in _run_all('--status', 'fcn', 'stdc', '--folder', tmp_path / 'jobs').stdout

    (tmp_path / 'runs' / 'fcn_ade20k' / 'iter_4.pth').unlink()  # a done job whose final checkpoint is gone: not done
    status = _run_all('--status', '--folder', tmp_path / 'jobs')
    assert table_cells(status.stdout, 'fcn')[1] == 'incomplete' and status.returncode == 1
    assert re.search(r'fcn: .*fcn_ade20k/iter_4.pth is missing', status.stdout)

    again = _run_all(*args)
    for model in MODELS[1:]:
        assert f'[run_all] {model}: done already' in again.stdout
    assert re.findall(r'\[run_all\] (\w+): started', again.stdout) == ['fcn', 'fcn_testcopy_broken']


def test_smoke_runs_in_their_default_work_dirs_are_summarised_and_followed_by_a_bare_status(script_copy, tmp_path):
    """The new user's session: `run_all.py fcn stdc --smoke`, then `run_all.py --status` with no models or flags (on
    copies of the two scripts, whose default work dirs the fixture removes)."""
    models = ['fcn_testcopy_ra', 'stdc_testcopy_ra']
    for model in models:
        script_copy(model.split('_')[0], model)
    first = _run_all(*models, '--jobs', 2, '--folder', tmp_path / 'jobs', '--smoke')
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]  # no error after the jobs ended
    assert 'error' not in first.stderr.lower()
    for model in models:
        assert re.search(rf'\| {model} \| smoke \| [\d.]+ \| 4 \| ', first.stdout)  # the summary lists it
    status = _run_all('--status', '--folder', tmp_path / 'jobs')
    assert status.returncode == 0, status.stderr[-3000:]
    table = status.stdout.split('\n\n')[0]  # (the summary follows)
    rows = [line for line in table.splitlines() if line.startswith('| ') and '---' not in line][1:]
    assert len(rows) == 2  # what was run, not the 27 models
    for model in models:
        assert table_cells(status.stdout, model)[1:3] == ['done', '4 / 4']
        assert table_cells(status.stdout, model)[6] == f'work_dirs/{model}_ade20k_smoke'
    assert 'never run' in table_cells(_run_all('--status', 'fcn', '--folder', tmp_path / 'jobs').stdout, 'fcn')[1]


def test_the_slurm_submission_carries_partition_gpus_time_signal_and_requeue():
    dry_run = run_tool('run_all.py', 'fcn', 'segformer', '--slurm', '--partition', 'gpu', '--gpus-per-run', 8, '--time',
                       '72:00:00', '--account', 'seg', '--dry-run', '--total-batch', 16)
    assert dry_run.returncode == 0, dry_run.stderr[-3000:]
    scripts = dry_run.stdout.split('# segformer: ')
    fcn, segformer = scripts[0], scripts[1]
    for line in ('#SBATCH --partition=gpu', '#SBATCH --gpus-per-node=8', '#SBATCH --time=4320',
                 '#SBATCH --signal=USR2@120', '#SBATCH --requeue', '#SBATCH --account=seg', '#SBATCH --nodes=1',
                 '#SBATCH --ntasks-per-node=1', '#SBATCH --job-name=ade20k-fcn'):
        assert line in fcn.splitlines(), (line, fcn)
    assert '-m torch.distributed.run --standalone --nproc_per_node=8' in fcn and 'train_fcn.py --total-batch 16' in fcn
    assert '#SBATCH --job-name=ade20k-segformer' in segformer and 'train_segformer.py --total-batch 16' in segformer


def test_categories_cover_every_model_once():
    from training.collection import categories, local
    from training.experiments import all_names
    listed = [model for _, models in categories.CATEGORIES.values() for model in models]
    assert sorted(listed) == [m for m in all_names() if 'testcopy' not in m] and len(listed) == 27
    assert categories.select([], '轻量级') == categories.select([], 'lightweight') == ['mobilenetv2', 'stdc']
    assert local.local_slots([0, 1, 2, 3, 4, 5, 6, 7], 2) == [[0, 1], [2, 3], [4, 5], [6, 7]]
    assert local.local_slots([], 1, jobs=2) == [[], []]
    from training.errors import UserError
    with pytest.raises(UserError, match='Unknown category'):
        categories.select([], 'cnn')
