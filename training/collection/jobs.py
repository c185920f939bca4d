"""One script's training as a job submitit runs: the command, its error line, what happens before a time limit, and
what the job's end means for its run."""
import signal
import subprocess
import sys

from ..paths import REPO_ROOT, script_path
from ..preemption import STOPPED
from .runs import finished


class TrainingJob:
    """One script's training, as submitit runs it (picklable): `python train_<model>.py args`, or torchrun with one
    process per GPU. Returns {'model', 'returncode', 'error'} (error: the first line of what went wrong)."""

    def __init__(self, model, script_args, gpus):
        self.model, self.script_args, self.gpus = model, list(script_args), gpus
        self._process = None

    def command(self):
        script = script_path(self.model)
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


def ended_state(run, result):
    """(state, error) of `run` once its job ended with `result` ({'returncode', 'error'}): done where its final
    checkpoint exists; stopped by a stop signal (it continues when run again); else failed, and why."""
    if finished(run):
        return 'done', None
    if result.get('returncode') in STOPPED:
        return 'stopped', result.get('error')
    if result.get('returncode') == 0:  # trained, but not to this plan's length
        return 'failed', result.get('error') or f'ended without iter_{run["max_iters"]}.pth'
    return 'failed', result.get('error')


def result_of(job, model):
    """What a submitit job that ended returned ({'model', 'returncode', 'error'}), or, where the job itself failed
    (killed, out of memory), why, as submitit says it."""
    try:
        return job.result()
    except Exception as error:
        return dict(model=model, returncode=None, error=str(error).strip().splitlines()[-1])


def _error_line(lines):
    """The script's one-paragraph error ('error: ...'), else the last line of a traceback or log."""
    errors = [line for line in lines if line.startswith('error: ')]
    if errors:
        return errors[-1][len('error: '):]
    return next((line for line in reversed(lines) if line.strip()), 'no output')
