"""A real one-node Slurm for the tests (Debian's slurm-wlm and munge; `make test` installs them where root and missing):
munged, slurmctld and slurmd started from a temporary folder that holds everything they write (key, socket, config,
state, spool, logs, pid files), on free ports, and stopped by the pids they wrote; nothing of the machine's own Slurm
or munge (if any) is used or touched. Clients reach it through SLURM_CONF (`environment()`).

    cluster = SlurmCluster(folder).start()    # sinfo shows the node idle
    subprocess.run(['sbatch', ...], env=cluster.environment())
    cluster.stop()
"""
import os
import shutil
import signal
import socket
import subprocess
import time

PARTITION = 'debug'
DAEMONS = ('munged', 'slurmctld', 'slurmd', 'sinfo', 'sbatch', 'scontrol', 'scancel', 'squeue', 'srun')


def missing_commands():
    return [name for name in DAEMONS if shutil.which(name) is None and not os.path.isfile(f'/usr/sbin/{name}')]


def _free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _command(name):
    return shutil.which(name) or f'/usr/sbin/{name}'


class SlurmCluster:
    def __init__(self, folder):
        self.folder = str(folder)
        self.node = socket.gethostname().split('.')[0]
        self.cpus = os.cpu_count()
        self.conf = os.path.join(self.folder, 'slurm.conf')
        self.munge_socket = os.path.join(self.folder, 'munge', 'munge.socket')
        self.pid_files = [os.path.join(self.folder, 'run', f'{name}.pid') for name in ('slurmd', 'slurmctld', 'munged')]

    def environment(self, base=None):
        return dict(base or os.environ, SLURM_CONF=self.conf)

    def _write_files(self):
        for sub in ('munge', 'run', 'log', 'state', 'spool'):
            os.makedirs(os.path.join(self.folder, sub), mode=0o700, exist_ok=True)
        os.chmod(os.path.join(self.folder, 'munge'), 0o711)  # (munged wants its socket's folder searchable by all)
        key = os.path.join(self.folder, 'munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)
        memory_mb = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') // 2**20
        path = lambda *parts: os.path.join(self.folder, *parts)  # noqa: E731
        with open(self.conf, 'w') as f:
            f.write(f'''ClusterName=tests
SlurmctldHost={self.node}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={path('state')}
SlurmdSpoolDir={path('spool')}
SlurmctldPidFile={path('run', 'slurmctld.pid')}
SlurmdPidFile={path('run', 'slurmd.pid')}
SlurmctldLogFile={path('log', 'slurmctld.log')}
SlurmdLogFile={path('log', 'slurmd.log')}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerParameters=sched_interval=1
MinJobAge=600
NodeName={self.node} CPUs={self.cpus} RealMemory={int(memory_mb * 0.8)} State=UNKNOWN
PartitionName={PARTITION} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
''')
        return key

    def start(self, timeout=60):
        key = self._write_files()
        subprocess.run([_command('munged'), '--force', f'--socket={self.munge_socket}', f'--key-file={key}',
                        f'--pid-file={self.pid_files[2]}', f'--log-file={os.path.join(self.folder, "log", "munged.log")}',
                        f'--seed-file={os.path.join(self.folder, "munge", "munged.seed")}'], check=True,
                       capture_output=True, text=True)
        for daemon in ('slurmctld', 'slurmd'):
            subprocess.run([_command(daemon), '-f', self.conf], check=True, capture_output=True, text=True,
                           env=self.environment())
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = subprocess.run(['sinfo', '-h', '-N', '-o', '%T'], capture_output=True, text=True,
                                   env=self.environment()).stdout.strip()
            if state == 'idle':
                return self
            time.sleep(0.5)
        raise RuntimeError(f'the one-node Slurm did not come up in {timeout} s (node state {state!r}): '
                           f'{self.logs()}')

    def logs(self):
        texts = []
        for name in ('slurmctld.log', 'slurmd.log', 'munged.log'):
            log = os.path.join(self.folder, 'log', name)
            if os.path.isfile(log):
                with open(log, errors='replace') as f:
                    texts.append(f'--- {name}\n' + ''.join(f.readlines()[-40:]))
        return '\n'.join(texts)

    def stop(self):
        """Stops the daemons this cluster started, by the pids they wrote (slurmd first), and waits for them."""
        for pid_file in self.pid_files:
            if not os.path.isfile(pid_file):
                continue
            with open(pid_file) as f:
                pid = int(f.read().split()[0])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.time() + 20
            while time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)

    def job(self, job_id):
        """{key: value} of `scontrol show job` (empty once Slurm has forgotten the job)."""
        out = subprocess.run(['scontrol', '-o', 'show', 'job', str(job_id)], capture_output=True, text=True,
                             env=self.environment()).stdout
        return dict(item.split('=', 1) for item in out.split() if '=' in item)
