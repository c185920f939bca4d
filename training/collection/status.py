"""The state of a collection's runs: the table of --status and of the end of a collection, and its failures."""
import datetime
import glob
import os

from ..checkpoints import read_scalars, shown
from ..run_summary import model_of_run
from . import slurm
from .jobs import ended_state
from .runs import final_checkpoint, finished
from .state import load_state, now, record


SLURM_STATES = {'PENDING': 'queued', 'REQUEUED': 'queued', 'REQUEUE_HOLD': 'queued', 'REQUEUE_FED': 'queued',
                'SUSPENDED': 'queued', 'CONFIGURING': 'running', 'RUNNING': 'running', 'COMPLETING': 'running'}


def _job_state(entry):
    """'running' or 'queued' while the job recorded in `entry` is alive, else None."""
    if entry.get('executor') == 'local':
        try:
            os.kill(int(entry['job_id']), 0)  # the job's submitit controller, a child of run_all.py
            return 'running'
        except (OSError, ValueError):
            return None
    if entry.get('executor') == 'slurm':
        return SLURM_STATES.get(slurm.queue_state(entry['job_id']))
    return None


def _ended(run, entry, folder):
    """(state, error) of a job that is no longer alive: what its result says (recorded, for the next --status), or
    stopped where it left none (killed, cancelled)."""
    result = slurm.job_result(folder, entry['job_id'], run['model']) if entry.get('executor') == 'slurm' else None
    if result is None:
        return 'stopped', entry.get('error')
    state, error = ended_state(run, result)
    record(folder, run['model'], state=state, error=error, ended=now())
    return state, error


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
            if recorded != 'done' and entry:  # (ended without run_all.py seeing it end: a Slurm job)
                record(folder, run['model'], state='done', error=None, ended=now())
        elif recorded == 'done':  # its final checkpoint has gone since: not done (a rerun trains it again)
            what, error = 'incomplete', f'{shown(final_checkpoint(run))} is missing'
        elif recorded in ('running', 'submitted'):  # alive, or ended without run_all.py seeing it end
            what = _job_state(entry)
            if what is None:
                what, error = _ended(run, entry, folder)
        else:
            what = recorded
        eta = None
        if what == 'running' and trained:
            eta = datetime.timedelta(seconds=round(trained[-1].get('time', 0) * (run['max_iters'] - iteration)))
        logs = sorted(glob.glob(os.path.join(run['work_dir'], '*', '*.log')))
        rows.append(dict(model=model_of_run(run['work_dir'], default=run['model']), state=what, iteration=iteration, total=run['max_iters'],
                         miou=validated[-1]['mIoU'] if validated else None, eta=eta,
                         work_dir=shown(run['work_dir']), smoke=run.get('smoke', False),
                         log=shown(logs[-1]) if logs else '—', error=error,
                         requeued=slurm.requeues(folder, entry['job_id']) if entry.get('executor') == 'slurm' else 0))
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
