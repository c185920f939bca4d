"""run_all.py --slurm on a real one-node Slurm (tests/slurm_cluster.py; Debian's slurm-wlm 22.05 and munge, which
`make test` installs where missing): submitit's real sbatch, CPU jobs that ask for no GPU, jobs that finish, one that
fails, a rerun that skips the finished, and a job signalled the way Slurm signals before a time limit (USR2), which
checkpoints, is requeued and continues at the next iteration."""
import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from conftest import REPO, add_to_config, scalars, table_cells
from slurm_cluster import PARTITION, SlurmCluster, missing_commands

pytestmark = [pytest.mark.xdist_group('slurm'),  # one cluster for the module, in one test process
              pytest.mark.slow(1.5)]


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    missing = missing_commands()
    assert not missing, (f'{", ".join(missing)} missing: `make test` installs slurm-wlm and munge where it runs as '
                         f'root (tools/test_services.sh); else: sudo apt-get install slurm-wlm munge')
    cluster = SlurmCluster(tmp_path_factory.mktemp('slurm'))
    cluster.start()
    yield cluster
    cluster.stop()


def _run_all(cluster, *args):
    return subprocess.run([sys.executable, 'run_all.py', *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env=cluster.environment())


def _submit(cluster, folder, *args):
    submitted = _run_all(cluster, *args, '--slurm', '--partition', PARTITION, '--gpus-per-run', 0, '--time', 30,
                         '--folder', folder)
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    return dict(re.findall(r'\[run_all\] (\w+): submitted \(Slurm job (\d+)\)', submitted.stdout))


def _wait_until_gone(cluster, job_ids, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        listed = subprocess.run(['squeue', '-h', '-o', '%i'], capture_output=True, text=True,
                                env=cluster.environment()).stdout.split()
        if not set(job_ids) & set(listed):
            return
        time.sleep(1)
    raise AssertionError(f'jobs {job_ids} still queued after {timeout} s: {cluster.logs()}')


def test_smoke_jobs_run_and_finish_a_broken_one_fails_alone_and_a_rerun_skips_the_finished(cluster, script_copy,
                                                                                           tiny_ade, tmp_path):
    script_copy('fcn', 'fcn_testcopy_slurm', add_to_config('cfg.model.backbone.depth = 51'))  # ResNet-51: none
    models = ['fcn', 'segformer', 'fcn_testcopy_slurm']
    args = [*models, '--smoke', '--work-dir', f'{tmp_path}/runs/{{name}}_ade20k']
    jobs = _submit(cluster, tmp_path / 'jobs', *args)
    assert sorted(jobs) == sorted(models)
    script = (tmp_path / 'jobs' / 'submitit' / jobs['fcn'] / f'{jobs["fcn"]}_submission.sh').read_text()
    assert '#SBATCH --requeue' in script and '#SBATCH --signal=USR2@120' in script and 'gpus' not in script
    _wait_until_gone(cluster, list(jobs.values()))

    status = _run_all(cluster, '--status', '--folder', tmp_path / 'jobs')
    for model in ('fcn', 'segformer'):
        cells = table_cells(status.stdout, model)
        assert cells[1:3] == ['done', '4 / 4'] and float(cells[3]) >= 0, status.stdout
    assert table_cells(status.stdout, 'fcn_testcopy_slurm')[1] == 'failed'
    failed = status.stdout.split('failed:\n')[1].splitlines()[0]  # with the script's own error line
    assert failed.startswith('  fcn_testcopy_slurm: ') and 'invalid depth 51 for resnet' in failed
    assert status.returncode == 1
    summary = (tmp_path / 'jobs' / 'results.md').read_text()
    assert re.search(r'\| fcn \| smoke \| [\d.]+ \| 4 \|', summary) and '| segformer | smoke |' in summary

    again = _submit(cluster, tmp_path / 'jobs', *args)
    assert list(again) == ['fcn_testcopy_slurm']  # the finished ones are skipped
    _wait_until_gone(cluster, list(again.values()))


def test_a_job_signalled_before_its_time_limit_checkpoints_is_requeued_and_continues(cluster, tiny_ade, tmp_path):
    iters = 40
    work_dir = tmp_path / 'runs' / 'fcn_ade20k'
    jobs = _submit(cluster, tmp_path / 'jobs', 'fcn', '--smoke', '--iters', iters, '--work-dir',
                   f'{tmp_path}/runs/{{name}}_ade20k')
    job = jobs['fcn']
    deadline = time.time() + 300
    while len([r for r in scalars(work_dir) if 'loss' in r]) < 3 and time.time() < deadline:
        time.sleep(0.2)
    running = _run_all(cluster, '--status', '--folder', tmp_path / 'jobs')  # (without accounting: squeue)
    assert table_cells(running.stdout, 'fcn')[1] == 'running' and running.returncode == 0, running.stdout
    # what Slurm does --signal=USR2@120 before the time limit: USR2 to every process of the job's step
    subprocess.run(['scancel', '--signal=USR2', job], check=True, env=cluster.environment())
    requeued = False
    while time.time() < deadline:
        info = cluster.job(job)
        if info.get('JobState') == 'PENDING' and not requeued:  # requeued by submitit (scontrol requeue)
            requeued = True
            assert info.get('Restarts') == '1'
            time.sleep(3)  # (the requeued run's credential must be newer than the revoked one's)
            subprocess.run(['scontrol', 'update', f'jobid={job}', 'StartTime=now'], check=True,
                           env=cluster.environment())  # instead of Slurm's two minutes before a requeued job starts
        if info.get('JobState') in ('COMPLETED', 'FAILED', 'CANCELLED') and requeued:
            break
        time.sleep(0.5)
    assert requeued and info.get('JobState') == 'COMPLETED', (info, cluster.logs())

    out = ''.join(open(log, errors='replace').read() for log in (tmp_path / 'jobs' / 'submitit' / job).glob('*_log.*'))
    stopped = int(re.search(r'stopped by SIGUSR2 at iteration (\d+)', out).group(1))
    assert f'continuing from {work_dir}/iter_{stopped}.pth' in out and 'Requeued job' in out
    assert [r['step'] for r in scalars(work_dir) if 'loss' in r] == list(range(1, iters + 1))  # each trained once
    status = _run_all(cluster, '--status', '--folder', tmp_path / 'jobs')
    assert table_cells(status.stdout, 'fcn')[1:3] == ['done (requeued 1x)', f'{iters} / {iters}'], status.stdout
    assert json.loads((tmp_path / 'jobs' / 'jobs.json').read_text())['fcn']['state'] == 'done'
    assert os.path.isfile(work_dir / f'iter_{iters}.pth')


def test_a_run_over_several_srun_tasks_trains_as_one_and_a_two_node_job_asks_for_two_nodes(cluster, tiny_ade,
                                                                                           tmp_path):
    dry = _run_all(cluster, 'segformer', '--smoke', '--slurm', '--partition', PARTITION, '--nodes', 2,
                   '--gpus-per-node', 8, '--dry-run', '--folder', tmp_path / 'dry')
    assert dry.returncode == 0, dry.stderr[-3000:]
    for line in ('#SBATCH --nodes=2', '#SBATCH --ntasks-per-node=8', '#SBATCH --gpus-per-node=8',
                 '#SBATCH --cpus-per-task=8', '#SBATCH --requeue', 'srun '):
        assert line in dry.stdout, dry.stdout
    assert 'its job runs ' + sys.executable + ' ' in dry.stdout and 'torch.distributed.run' not in dry.stdout

    # one node, two CPU tasks: srun starts two training processes, ranks 0 and 1 from Slurm, gloo between them
    work_dir = tmp_path / 'runs' / 'fcn_ade20k'
    port = socket.socket()
    port.bind(('127.0.0.1', 0))
    free_port = port.getsockname()[1]
    port.close()
    submitted = subprocess.run(
        [sys.executable, 'run_all.py', *map(str, [
            'fcn', '--smoke', '--iters', 2, '--work-dir', f'{tmp_path}/runs/{{name}}_ade20k', '--slurm',
            '--partition', PARTITION, '--nodes', 1, '--gpus-per-node', 0, '--tasks-per-node', 2, '--time', 30,
            '--folder', tmp_path / 'jobs'])], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=cluster.environment(dict(os.environ, MASTER_PORT=str(free_port), OMP_NUM_THREADS='1')))
    assert submitted.returncode == 0, submitted.stderr[-3000:]
    job = re.search(r'\(Slurm job (\d+)\)', submitted.stdout).group(1)
    _wait_until_gone(cluster, [job])
    out = ''.join(open(log, errors='replace').read() for log in (tmp_path / 'jobs' / 'submitit' / job).glob('*_log.*'))
    assert 'processes: world size 2 on 1 node(s); node 0 (' in out, out[-3000:]
    assert '): ranks 0, 1 (local 0, 1)' in out
    status = _run_all(cluster, '--status', '--folder', tmp_path / 'jobs')
    assert table_cells(status.stdout, 'fcn')[1:3] == ['done', '2 / 2'], status.stdout
    assert sorted(p.name for p in work_dir.glob('*.pth')) == ['best_mIoU_iter_2.pth', 'iter_2.pth']
