"""Training a set of the collection's scripts as jobs (command line: run_all.py), through submitit: on this
machine's GPUs (N GPUs per run, as many runs at once as fit, the rest queued) or on a Slurm cluster. Both take the
same job description (TrainingJob); only the executor differs.

- Resumable: a model whose work dir holds its final checkpoint (iter_<max_iters>.pth) is skipped; an unfinished
  one is started again and its script continues from its last checkpoint (or refuses, as it always does, when the
  script was edited since: that job fails with the script's paragraph).
- One failing job never stops the others; the end lists the failures with the first line of their error.
- Preemption: Slurm's own (--requeue) sends SIGTERM to every process of the job: the training process writes a
  checkpoint at its current iteration and exits 143 (preemption.py), and Slurm requeues the job. Near the time
  limit submitit sends USR2 (slurm_signal_delay_s before it) and calls TrainingJob.checkpoint(), which does the
  same through SIGTERM and requeues the job.
- The state of every job (submitted, running, done, failed and why) is kept in <folder>/jobs.json; --status
  reads it with the work dirs' logs.
"""
import datetime
import glob
import json
import os
import signal
import subprocess
import sys
import time

from .checkpoints import read_scalars
from .config import REPO_ROOT
from .errors import UserError
from .experiments import all_names

# The original description's categories. Where a model could sit in two (SegNeXt's convolutional attention,
# SeMask's Swin backbone, PoolFormer's pooling "Transformer"), the category follows the model's main idea.
CATEGORIES = {
    '基础卷积': ('conv', ['fcn', 'pspnet', 'deeplabv3plus', 'upernet']),
    '注意力机制': ('attention', ['ocrnet', 'gcnet', 'isanet', 'nonlocal', 'dnlnet', 'psanet', 'segnext']),
    'Transformer': ('transformer', ['segformer', 'swin', 'segmenter', 'setr', 'vit_deit', 'twins', 'sem_fpn']),
    '实例分割': ('mask', ['mask2former', 'maskformer', 'knet', 'pointrend']),
    '轻量级': ('lightweight', ['mobilenetv2', 'stdc']),
    '其他': ('other', ['poolformer', 'fastfcn', 'resnest']),
}
DAY_MINUTES = 24 * 60
POLL_S = 2


def category_models(name):
    """The models of a category, by its name in the original description or its English key."""
    for chinese, (english, models) in CATEGORIES.items():
        if name in (chinese, english):
            return models
    known = ', '.join(f'{chinese} ({english})' for chinese, (english, _) in CATEGORIES.items())
    raise UserError(f'Unknown category {name!r}: the categories are {known}.')


def select(models, category=None):
    """The models to train, in the collection's order: `models` (names, or 'all'), or a category's."""
    names = all_names()
    wanted = category_models(category) if category else (names if not models or models == ['all'] else models)
    unknown = [m for m in wanted if m not in names]
    if unknown:
        raise UserError(f'No train_<model>.py for {", ".join(unknown)}: the models are {", ".join(names)}.')
    return [m for m in names if m in wanted]


def plan(models, script_args):
    """[{model, work_dir, max_iters}] of each model's resolved config under the scripts' flags `script_args` (checked
    here, before anything is submitted)."""
    from .experiments import load_script
    from .runner import build_config
    runs = []
    for model in models:
        script = load_script(model)
        cfg, _ = build_config(script.config, script.OFFICIAL, list(script_args))
        runs.append(dict(model=model, work_dir=os.path.join(REPO_ROOT, cfg.work_dir), max_iters=cfg.train_cfg.max_iters))
    return runs


def finished(run):
    return os.path.isfile(os.path.join(run['work_dir'], f'iter_{run["max_iters"]}.pth'))


# ---- the job -------------------------------------------------------------------------------------------
class TrainingJob:
    """One script's training, as submitit runs it (picklable): `python train_<model>.py args`, or torchrun with one
    process per GPU. Returns {'model', 'returncode', 'error'} (error: the first line of what went wrong)."""

    def __init__(self, model, script_args, gpus):
        self.model, self.script_args, self.gpus = model, list(script_args), gpus
        self._process = None

    def command(self):
        script = os.path.join(REPO_ROOT, f'train_{self.model}.py')
        if self.gpus > 1:
            return [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={self.gpus}',
                    script, *self.script_args]
        return [sys.executable, script, *self.script_args]

    def __call__(self):
        self._process = subprocess.Popen(self.command(), cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        tail = []
        for line in self._process.stderr:  # passed on to the job's log, the end kept for the error line
            sys.stderr.write(line)
            tail = (tail + [line.rstrip()])[-200:]
        returncode = self._process.wait()
        return dict(model=self.model, returncode=returncode, error=None if returncode == 0 else _error_line(tail))

    def checkpoint(self, *args, **kwargs):
        """submitit's hook before the time limit (or a preemption it is told of): the training process writes a
        checkpoint at its current iteration and stops (SIGTERM); the job is requeued and continues from it."""
        from submitit.helpers import DelayedSubmission
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._process.wait()
        return DelayedSubmission(TrainingJob(self.model, self.script_args, self.gpus))

    def __getstate__(self):
        return dict(self.__dict__, _process=None)


def _error_line(lines):
    """The script's one-paragraph error ('error: ...'), else the last line of a traceback or log."""
    errors = [line for line in lines if line.startswith('error: ')]
    if errors:
        return errors[-1][len('error: '):]
    return next((line for line in reversed(lines) if line.strip()), 'no output')


# ---- the state of a collection's jobs ---------------------------------------------------------------------
def _state_path(folder):
    return os.path.join(folder, 'jobs.json')


def load_state(folder):
    if not os.path.isfile(_state_path(folder)):
        return {}
    with open(_state_path(folder)) as f:
        return json.load(f)


def _save_state(folder, state):
    os.makedirs(folder, exist_ok=True)
    partial = f'{_state_path(folder)}.partial'
    with open(partial, 'w') as f:
        json.dump(state, f, indent=1, ensure_ascii=False)
    os.replace(partial, _state_path(folder))


def _record(folder, model, **fields):
    state = load_state(folder)
    state[model] = dict(state.get(model, {}), **fields)
    _save_state(folder, state)


# ---- executors --------------------------------------------------------------------------------------------
def local_slots(gpus, gpus_per_run, jobs=None):
    """GPU sets of the runs that go at once: consecutive groups of `gpus_per_run` of `gpus`; without GPUs,
    `jobs` CPU runs (default 1)."""
    if gpus:
        if gpus_per_run > len(gpus):
            raise UserError(f'--gpus-per-run {gpus_per_run} is more than the {len(gpus)} GPU(s) of --gpus.')
        slots = [gpus[i:i + gpus_per_run] for i in range(0, len(gpus) - gpus_per_run + 1, gpus_per_run)]
        return slots[:jobs] if jobs else slots
    return [[] for _ in range(jobs or 1)]


def run_local(runs, script_args, slots, folder):
    """Runs the jobs on this machine, len(slots) at a time, each on its slot's GPUs; waits for all. Returns
    {model: result}."""
    import submitit
    pending, running, results = list(runs), {}, {}
    while pending or running:
        for index, gpus in enumerate(slots):
            if index in running or not pending:
                continue
            run = pending.pop(0)
            executor = submitit.LocalExecutor(folder=os.path.join(folder, 'submitit'))
            executor.update_parameters(timeout_min=30 * DAY_MINUTES, gpus_per_node=len(gpus), visible_gpus=tuple(gpus))
            job = executor.submit(TrainingJob(run['model'], script_args, len(gpus)))
            running[index] = run, job
            _record(folder, run['model'], executor='local', job_id=job.job_id, state='running', error=None,
                    submitted=_now(), gpus=gpus)
            print(f'[run_all] {run["model"]}: started (job {job.job_id}, '
                  f'{"GPUs " + ",".join(map(str, gpus)) if gpus else "CPU"})', flush=True)
        for index, (run, job) in list(running.items()):
            if job.done():
                del running[index]
                results[run['model']] = _result_of(job, run['model'])
                _finish(folder, run, results[run['model']])
        time.sleep(POLL_S if running else 0)
    return results


def _result_of(job, model):
    try:
        return job.result()
    except Exception as error:  # the job itself failed (killed, out of memory): submitit says why
        return dict(model=model, returncode=None, error=str(error).strip().splitlines()[-1])


def _finish(folder, run, result):
    state = 'done' if finished(run) else 'stopped' if result['returncode'] in (130, 143) else 'failed'
    if result['returncode'] == 0 and state != 'done':  # trained, but not to this plan's length
        state = 'failed'
        result['error'] = result['error'] or f'ended without iter_{run["max_iters"]}.pth'
    _record(folder, run['model'], state=state, error=result['error'], ended=_now())
    print(f'[run_all] {run["model"]}: {state}' + (f': {result["error"]}' if result['error'] else ''), flush=True)


def slurm_parameters(model, gpus_per_run, partition, time_limit_min, account=None, signal_delay_s=120,
                     cpus_per_gpu=8):
    """submitit's Slurm parameters for one model's job: one node, one task, `gpus_per_run` GPUs, requeued on
    preemption, USR2 `signal_delay_s` before the time limit (submitit then calls TrainingJob.checkpoint)."""
    return dict(job_name=f'ade20k-{model}', partition=partition, time=time_limit_min, nodes=1, ntasks_per_node=1,
                gpus_per_node=gpus_per_run, cpus_per_task=cpus_per_gpu * gpus_per_run, signal_delay_s=signal_delay_s,
                account=account, additional_parameters=dict(requeue=True))


def _slurm_folder(folder):
    return os.path.join(folder, 'submitit', '%j')


def sbatch_script(folder, job, **slurm):
    """The sbatch script submit_slurm would submit for `job` (submitit's own text; no Slurm needed)."""
    from submitit.slurm.slurm import _make_sbatch_string  # what SlurmExecutor writes (it needs srun to exist)
    command = ' '.join([sys.executable, '-u -m submitit.core._submit', _slurm_folder(folder)])
    return _make_sbatch_string(command=command, folder=_slurm_folder(folder), **slurm_parameters(job.model, **slurm))


def submit_slurm(runs, script_args, folder, **slurm):
    """Submits one Slurm job per run; returns {model: job id}."""
    import submitit
    submitted = {}
    for run in runs:
        executor = submitit.SlurmExecutor(folder=_slurm_folder(folder))
        executor.update_parameters(**slurm_parameters(run['model'], **slurm))
        job = executor.submit(TrainingJob(run['model'], script_args, slurm['gpus_per_run']))
        submitted[run['model']] = job.job_id
        _record(folder, run['model'], executor='slurm', job_id=job.job_id, state='submitted', error=None,
                submitted=_now())
        print(f'[run_all] {run["model"]}: submitted (Slurm job {job.job_id})', flush=True)
    return submitted


def _now():
    return datetime.datetime.now().isoformat(timespec='seconds')


# ---- status -----------------------------------------------------------------------------------------------
def _job_state(entry, folder):
    """'running' or 'queued' while the job recorded in `entry` is alive, else None."""
    if entry.get('executor') == 'local':
        try:
            os.kill(int(entry['job_id']), 0)  # the job's submitit controller, a child of run_all.py
            return 'running'
        except (OSError, ValueError):
            return None
    if entry.get('executor') == 'slurm':
        import submitit
        state = submitit.SlurmJob(folder=_slurm_folder(folder), job_id=entry['job_id']).state
        return {'PENDING': 'queued', 'REQUEUED': 'queued', 'RUNNING': 'running', 'CONFIGURING': 'running',
                'COMPLETING': 'running', 'SUSPENDED': 'queued'}.get(state)
    return None


def status_rows(runs, folder):
    """One row per run: model, state, iteration / total, last mIoU, ETA, log."""
    state = load_state(folder)
    rows = []
    for run in runs:
        entry = state.get(run['model'], {})
        records = read_scalars(run['work_dir'])
        trained = [r for r in records if 'loss' in r]
        validated = [r for r in records if 'mIoU' in r]
        iteration = trained[-1]['step'] if trained else 0
        recorded = entry.get('state', 'not started')
        if finished(run):
            what = 'done'
        elif recorded in ('running', 'submitted'):  # alive, or ended without run_all.py seeing it end
            what = _job_state(entry, folder) or 'stopped'
        else:
            what = recorded
        eta = None
        if what == 'running' and trained:
            eta = datetime.timedelta(seconds=round(trained[-1].get('time', 0) * (run['max_iters'] - iteration)))
        logs = sorted(glob.glob(os.path.join(run['work_dir'], '*', '*.log')))
        rows.append(dict(model=run['model'], state=what, iteration=iteration, total=run['max_iters'],
                         miou=validated[-1]['mIoU'] if validated else None, eta=eta,
                         log=os.path.relpath(logs[-1]) if logs else '—', error=entry.get('error')))
    return rows


def status_table(rows):
    lines = ['| model | state | iteration / total | last mIoU | ETA | log |', '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r["model"]} | {r["state"]} | {r["iteration"]} / {r["total"]} | '
                     f'{"—" if r["miou"] is None else format(r["miou"], ".2f")} | {r["eta"] or "—"} | {r["log"]} |')
    return '\n'.join(lines)


def failures(rows):
    return [f'{r["model"]}: {r["error"]}' for r in rows if r['state'] == 'failed']
