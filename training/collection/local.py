"""The jobs on this machine's GPUs (submitit's LocalExecutor): N GPUs per run, as many runs at once as fit, the rest
queued; without GPUs, CPU runs one at a time (or --jobs)."""
import os
import time

from ..errors import UserError
from .jobs import TrainingJob, ended_state, result_of
from .runs import described
from .state import now, record

DAY_MINUTES = 24 * 60
POLL_S = 2


def local_slots(gpus, gpus_per_run, jobs=None):
    """GPU sets of the runs that go at once: consecutive groups of `gpus_per_run` of `gpus`; without GPUs,
    `jobs` CPU runs (default 1)."""
    if gpus:
        if gpus_per_run > len(gpus):
            raise UserError(f'--gpus-per-run {gpus_per_run} is more than the {len(gpus)} GPU(s) of --gpus.')
        slots = [gpus[i:i + gpus_per_run] for i in range(0, len(gpus) - gpus_per_run + 1, gpus_per_run)]
        return slots[:jobs] if jobs else slots
    return [[] for _ in range(jobs or 1)]


def run_local(runs, slots, folder):
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
            job = executor.submit(TrainingJob(run['model'], run['args'], len(gpus)))
            running[index] = run, job
            record(folder, run['model'], **described(run), executor='local', job_id=job.job_id, state='running',
                   error=None, submitted=now(), gpus=gpus)
            print(f'[run_all] {run["model"]}: started (job {job.job_id}, '
                  f'{"GPUs " + ",".join(map(str, gpus)) if gpus else "CPU"})', flush=True)
        for index, (run, job) in list(running.items()):
            if job.done():
                del running[index]
                results[run['model']] = result_of(job, run['model'])
                _finish(folder, run, results[run['model']])
        time.sleep(POLL_S if running else 0)
    return results


def _finish(folder, run, result):
    state, error = ended_state(run, result)
    record(folder, run['model'], state=state, error=error, ended=now())
    print(f'[run_all] {run["model"]}: {state}' + (f': {error}' if error else ''), flush=True)
