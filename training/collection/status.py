"""The state of a collection's runs: the table of --status and of the end of a collection, and its failures."""
import datetime
import glob
import os

from ..checkpoints import read_scalars
from .runs import finished
from .slurm import slurm_folder
from .state import load_state


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
        state = submitit.SlurmJob(folder=slurm_folder(folder), job_id=entry['job_id']).state
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
