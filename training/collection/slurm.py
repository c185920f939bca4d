"""The jobs on a Slurm cluster (submitit's SlurmExecutor): one job per run, one node, --requeue, USR2 before the time
limit (submitit then calls TrainingJob.checkpoint)."""
import os
import sys

from .. import compat
from .jobs import TrainingJob
from .runs import described
from .state import now, record


def slurm_parameters(model, gpus_per_run, partition, time_limit_min, account=None, signal_delay_s=120,
                     cpus_per_gpu=8):
    """submitit's Slurm parameters for one model's job: one node, one task, `gpus_per_run` GPUs, requeued on
    preemption, USR2 `signal_delay_s` before the time limit (submitit then calls TrainingJob.checkpoint)."""
    return dict(job_name=f'ade20k-{model}', partition=partition, time=time_limit_min, nodes=1, ntasks_per_node=1,
                gpus_per_node=gpus_per_run, cpus_per_task=cpus_per_gpu * gpus_per_run, signal_delay_s=signal_delay_s,
                account=account, additional_parameters=dict(requeue=True))


def slurm_folder(folder):
    return os.path.join(folder, 'submitit', '%j')


def sbatch_script(folder, job, **slurm):
    """The sbatch script submit_slurm would submit for `job` (submitit's own text; no Slurm needed)."""
    command = ' '.join([sys.executable, '-u -m submitit.core._submit', slurm_folder(folder)])
    return compat.sbatch_text(command, slurm_folder(folder), **slurm_parameters(job.model, **slurm))


def submit_slurm(runs, folder, **slurm):
    """Submits one Slurm job per run; returns {model: job id}."""
    import submitit
    submitted = {}
    for run in runs:
        executor = submitit.SlurmExecutor(folder=slurm_folder(folder))
        executor.update_parameters(**slurm_parameters(run['model'], **slurm))
        job = executor.submit(TrainingJob(run['model'], run['args'], slurm['gpus_per_run']))
        submitted[run['model']] = job.job_id
        record(folder, run['model'], **described(run), executor='slurm', job_id=job.job_id, state='submitted',
               error=None, submitted=now())
        print(f'[run_all] {run["model"]}: submitted (Slurm job {job.job_id})', flush=True)
    return submitted
