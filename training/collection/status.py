"""The state of a collection's runs: the table of --status and of the end of a collection, and its failures."""
import datetime
import glob
import os

from ..checkpoints import read_scalars
from .runs import final_checkpoint, finished
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


def status_rows(runs, folder, never_run=()):
    """One row per run: model, state, iteration / total, last mIoU, ETA, work dir, log; one per model never run."""
    state = load_state(folder)
    rows = []
    for run in runs:
        entry = state.get(run['model'], {})
        records = read_scalars(run['work_dir'])
        trained = [r for r in records if 'loss' in r]
        validated = [r for r in records if 'mIoU' in r]
        iteration = trained[-1]['step'] if trained else 0
        recorded = entry.get('state', 'not started')
        error = entry.get('error')
        if finished(run):
            what = 'done'
        elif recorded == 'done':  # its final checkpoint has gone since: not done (a rerun trains it again)
            what, error = 'incomplete', f'{os.path.relpath(final_checkpoint(run))} is missing'
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
                         work_dir=os.path.relpath(run['work_dir']), smoke=run.get('smoke', False),
                         log=os.path.relpath(logs[-1]) if logs else '—', error=error,
                         requeued=entry.get('requeued', 0)))
    rows += [dict(model=model, state='never run', iteration=0, total=None, miou=None, eta=None, work_dir='—',
                  smoke=False, log='—', error=None, requeued=0) for model in never_run]
    return rows


def status_table(rows):
    lines = ['| model | state | iteration / total | last mIoU | ETA | run | work dir | log |', '|---' * 8 + '|']
    for r in rows:
        state = r['state'] + (f' (requeued {r["requeued"]}x)' if r['requeued'] else '')
        kind = '—' if r['total'] is None else 'smoke' if r['smoke'] else 'full'
        lines.append(f'| {r["model"]} | {state} | {r["iteration"]} / {r["total"] or "—"} | '
                     f'{"—" if r["miou"] is None else format(r["miou"], ".2f")} | {r["eta"] or "—"} | {kind} | '
                     f'{r["work_dir"]} | {r["log"]} |')
    return '\n'.join(lines)


def failures(rows):
    return [f'{r["model"]}: {r["error"]}' for r in rows if r['state'] in ('failed', 'incomplete')]
