"""Runs the repository's scripts as `python <script> <args>` would, without paying the interpreter start and
the import of torch, MMEngine, MMCV, MMSeg, MMDet and MMPretrain on every run (several seconds each, on the 2-core
CI machine, for the ~200 script runs of the suite).

A server process imports that stack once and then, for each request, forks a child that executes the script as
__main__ (runpy, as the interpreter does), with the request's argv, working directory and environment, and its
stdout and stderr in files. The server itself runs no torch operation, so the children start with no OpenMP
thread pool to inherit (GNU OpenMP does not survive a fork after a parallel region).

Client side (conftest.run_script): ScriptServer(...).run(argv, cwd, env, timeout) -> CompletedProcess.
Runs that need what only a new interpreter has (environment variables read at import, a real `kill -9`, torchrun)
use subprocess directly.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PRELOADED = ('torch', 'torchvision', 'mmengine', 'mmengine.runner', 'mmcv', 'mmcv.ops', 'mmseg', 'mmseg.models',
             'mmseg.datasets', 'mmseg.apis', 'mmdet.models', 'mmpretrain.models', 'training.runner',
             'training.models', 'training.measure.benchmark', 'training.trained', 'common')


# ---- the server ------------------------------------------------------------------------------------
def _restore_what_a_sibling_removed():
    """A child's exit runs the atexit functions the server's imports registered, for the server's objects. One
    removes a directory every child shares: the temp dir wandb creates at import (mmseg.models imports wandb) for the
    media it logs, and a run logging a W&B table or image after a sibling exited finds it gone. A new interpreter
    would have its own: here it is made again."""
    private = sys.modules.get('wandb.sdk.data_types._private')
    if private is not None:
        os.makedirs(private.MEDIA_TMP.name, exist_ok=True)


def _child(request):
    """In the forked child: the script as __main__, then the interpreter's own exit steps. Never returns."""
    import runpy
    import traceback
    code = 0
    try:
        os.setpgid(0, 0)  # its own process group: a timeout kills the child and its loader workers
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        for fd, path in ((1, request['stdout']), (2, request['stderr'])):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        os.chdir(request['cwd'])
        os.environ.clear()
        os.environ.update(request['env'])
        import random

        import numpy
        import torch
        random.seed()  # fresh seeds, as a new interpreter draws them (a fork would share the server's)
        numpy.random.seed()
        torch.seed()
        _restore_what_a_sibling_removed()
        threads = request['env'].get('OMP_NUM_THREADS')
        if threads:
            torch.set_num_threads(int(threads))
        script = os.path.abspath(request['argv'][0])  # as the interpreter: __file__ absolute, argv[0] as typed
        sys.argv = list(request['argv'])
        sys.path[0] = os.path.dirname(script)
        runpy.run_path(script, run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if not isinstance(exit_.code, (int, type(None))):
            print(exit_.code, file=sys.stderr)
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 128 + signal.SIGINT
    except BaseException:  # noqa: B902  (as the interpreter: the traceback, exit status 1)
        traceback.print_exc()
        code = 1
    try:
        from training import compat
        compat.run_exit_functions()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def serve():
    """Reads one JSON request per line on stdin; answers 'pid N' when the child started, 'exit N CODE' when
    it ended (CODE negative: killed by that signal, as subprocess reports it)."""
    import gc
    import importlib
    sys.path.insert(0, REPO)
    for module in PRELOADED:
        importlib.import_module(module)
    # The imported stack's objects out of the cyclic collector's reach: a child's collections no longer walk them (nor
    # write to their pages, which the fork shares). A smoke run is 0.5-0.7 s shorter.
    gc.freeze()
    print('ready', flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(f'pid {pid}', flush=True)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f'exit {pid} {code}', flush=True)


# ---- the client ------------------------------------------------------------------------------------
class ScriptServer:
    """A server of `python` (default: this interpreter), started on first use."""

    def __init__(self, python=sys.executable):
        self.python = python
        self.process = None
        self.outputs = tempfile.mkdtemp(prefix='script-server-')

    def _start(self):
        self.process = subprocess.Popen([self.python, os.path.abspath(__file__)], cwd=REPO, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self._line(600) == 'ready', 'the script server did not start'

    def _line(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], max(0, timeout))
        return self.process.stdout.readline().strip() if ready else None

    def run(self, argv, cwd, env, timeout):
        """Like subprocess.run([python, *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=...)."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        stdout, stderr = (os.path.join(self.outputs, name) for name in ('stdout', 'stderr'))
        request = dict(argv=[str(a) for a in argv], cwd=os.path.abspath(cwd), env=dict(env), stdout=stdout, stderr=stderr)
        self.process.stdin.write(json.dumps(request) + '\n')
        self.process.stdin.flush()
        deadline = time.time() + timeout
        pid = int(self._line(60).split()[1])
        answer = self._line(deadline - time.time())
        if answer is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended meanwhile
                pass
            self._line(60)
            raise subprocess.TimeoutExpired([self.python, *argv], timeout, *map(_read, (stdout, stderr)))
        code = int(answer.split()[2])
        return subprocess.CompletedProcess([self.python, *argv], code, *map(_read, (stdout, stderr)))

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(timeout=60)


def _read(path):
    with open(path, errors='replace') as f:
        return f.read()


if __name__ == '__main__':
    serve()
