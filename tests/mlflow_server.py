"""A real MLflow tracking server for the tracker tests: `mlflow server` on 127.0.0.1 with a SQLite backend and its
own artifact store, started in a session of its own (its uvicorn workers with it) and stopped by that process group."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

START_TIMEOUT = 120  # seconds (about 10 s alone, more beside training runs on two cores)


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def answers(uri):
    try:
        with urllib.request.urlopen(f'{uri}/health', timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class MlflowServer:
    def __init__(self, folder):
        self.folder, self.port = str(folder), free_port()
        self.uri = f'http://127.0.0.1:{self.port}'
        self.process = None

    def start(self):
        os.makedirs(self.folder, exist_ok=True)
        mlflow = os.path.join(os.path.dirname(sys.executable), 'mlflow')
        self.log = open(os.path.join(self.folder, 'server.log'), 'w')
        self.process = subprocess.Popen(
            [mlflow, 'server', '--host', '127.0.0.1', '--port', str(self.port), '--workers', '1',
             '--backend-store-uri', f'sqlite:///{self.folder}/mlflow.db',
             '--artifacts-destination', f'{self.folder}/artifacts'],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + START_TIMEOUT
        while not answers(self.uri):
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                with open(os.path.join(self.folder, 'server.log')) as f:
                    raise RuntimeError(f'mlflow server did not start on {self.uri}:\n{f.read()[-3000:]}')
            time.sleep(0.3)
        return self

    def stop(self):
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # (the group: its uvicorn worker too)
            os.killpg(self.process.pid, signal.SIGTERM)
        if self.process.poll() is None:
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(20)
        self.log.close()
        self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
