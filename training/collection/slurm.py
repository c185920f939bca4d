"""The jobs on a Slurm cluster (submitit's SlurmExecutor): one job per run, --requeue, USR2 before the time limit
(submitit then calls TrainingJob.checkpoint). A job is one node and one task (torchrun inside it above one GPU), or,
with `nodes` (run_all.py --nodes N --gpus-per-node G), N nodes and one srun task per GPU: each task is one training
process, which takes its rank from Slurm (SLURM_PROCID, launch.py)."""
import glob
import os
import subprocess

from .. import compat
from .jobs import TrainingJob, result_of
from .runs import described
from .state import now, record


CPUS_PER_GPU = 8  # loader workers and the training process, per GPU


def slurm_parameters(model, gpus_per_run, partition, time_limit_min, account=None, signal_delay_s=120,
                     cpus_per_run=None, nodes=None, gpus_per_node=None, tasks_per_node=None):
    """submitit's Slurm parameters for one model's job, requeued on preemption, USR2 `signal_delay_s` before the time
    limit (submitit then calls TrainingJob.checkpoint):
    - without `nodes`: one node, one task, `gpus_per_run` GPUs (none: a CPU job, with no GPU asked for),
      `cpus_per_run` CPUs (default 8 per GPU, 1 without);
    - with `nodes`: that many nodes, `tasks_per_node` tasks on each (default one per GPU, `gpus_per_node`; 0 GPUs: CPU
      tasks), `cpus_per_run` CPUs per task (default 8 with a GPU, else 1)."""
    parameters = dict(job_name=f'ade20k-{model}', partition=partition, time=time_limit_min,
                      signal_delay_s=signal_delay_s, account=account, additional_parameters=dict(requeue=True))
    if nodes:
        gpus = gpus_per_node or 0
        parameters.update(nodes=nodes, ntasks_per_node=tasks_per_node or max(1, gpus),
                          cpus_per_task=cpus_per_run or (CPUS_PER_GPU if gpus else 1))
    else:
        gpus = gpus_per_run
        parameters.update(nodes=1, ntasks_per_node=1, cpus_per_task=cpus_per_run or max(1, CPUS_PER_GPU * gpus))
    if gpus:
        parameters['gpus_per_node'] = gpus
    return parameters


def training_job(model, script_args, gpus_per_run, nodes=None, **unused):
    """The TrainingJob each task of `model`'s job runs: with `nodes`, one training process per task (Slurm's ranks);
    else one process, or torchrun with one per GPU."""
    return TrainingJob(model, script_args, 1 if nodes else gpus_per_run)


def slurm_folder(folder):
    return os.path.join(folder, 'submitit', '%j')


def sbatch_script(folder, job, **slurm):
    """The sbatch script submit_slurm would submit for `job` (submitit's own text; no Slurm needed)."""
    return compat.sbatch_text(slurm_folder(folder), **slurm_parameters(job.model, **slurm))


def submit_slurm(runs, folder, **slurm):
    """Submits one Slurm job per run; returns {model: job id}."""
    import submitit
    submitted = {}
    for run in runs:
        executor = submitit.SlurmExecutor(folder=slurm_folder(folder))
        executor.update_parameters(**slurm_parameters(run['model'], **slurm))
        job = executor.submit(training_job(run['model'], run['args'], **slurm))
        submitted[run['model']] = job.job_id
        record(folder, run['model'], **described(run), executor='slurm', job_id=job.job_id, state='submitted',
               error=None, submitted=now())
        print(f'[run_all] {run["model"]}: submitted (Slurm job {job.job_id})', flush=True)
    return submitted


# ---- the jobs on the cluster, without Slurm's accounting (sacct), which many clusters and the tests' one lack ------
def queue_state(job_id):
    """Slurm's state of a job it still lists (squeue: PENDING, RUNNING, REQUEUED...), or None."""
    listed = subprocess.run(['squeue', '-h', '-j', str(job_id), '-o', '%T'], capture_output=True, text=True)
    return listed.stdout.strip() or None


def job_result(folder, job_id, model):
    """The result of `model`'s ended job ({'model', 'returncode', 'error'}, from submitit's result file), or None
    while there is none."""
    import submitit
    job = submitit.SlurmJob(folder=slurm_folder(folder), job_id=str(job_id))
    return result_of(job, model) if job.paths.result_pickle.exists() else None


def requeues(folder, job_id):
    """How many times submitit requeued the job (before a time limit, on USR2), from the job's own logs."""
    count = 0
    for log in glob.glob(os.path.join(folder, 'submitit', str(job_id), '*_log.*')):
        with open(log, errors='replace') as f:
            count += sum('Requeued job' in line for line in f)
    return count
