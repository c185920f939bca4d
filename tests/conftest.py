import contextlib
import json
import os
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from script_server import ScriptServer  # noqa: E402
from training.checkpoints import read_scalars as scalars  # noqa: E402,F401
from training.experiments import all_names  # noqa: E402

MODELS = all_names()
os.environ['ADE_SEG_NO_DOWNLOAD'] = '1'  # the suite never reaches the internet (test_downloads.py serves its files)
SERVER = ScriptServer()  # this test process's: scripts run in forks of an interpreter that imported the stack


def run_script(model, *args, timeout=900, env=None):
    """Runs train_<model>.py from the repo root, as a user would (`python train_<model>.py args`); returns the
    CompletedProcess."""
    return run_tool(f'train_{model}.py', *args, timeout=timeout, env=env)


def run_tool(script, *args, timeout=900, env=None):
    """Runs `python <script> args` from the repo root (evaluate.py, tools/benchmark.py...)."""
    return SERVER.run([script, *map(str, args)], REPO, {**os.environ, **(env or {})}, timeout)


def pytest_configure(config):
    # Two test processes (pytest-xdist) share the two cores: one thread each for torch, here, in the scripts they
    # run and in the processes those start, so they do not oversubscribe the cores (GNU OpenMP spins).
    if os.environ.get('PYTEST_XDIST_WORKER'):
        os.environ['OMP_NUM_THREADS'] = '1'
        import torch
        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    """The tests marked slow first, the longest first (a stable sort: the same order in every test process), so that
    the two test processes end together rather than one waiting for the other's last long test."""
    def minutes(item):
        slow = item.get_closest_marker('slow')
        return -(slow.args[0] if slow else 0)
    items.sort(key=minutes)


def pytest_unconfigure(config):
    SERVER.close()


@contextlib.contextmanager
def made_once(path):
    """Yields True to the one test process that should make `path` (a directory shared by the test processes),
    after the others have waited for it; False where it is made already."""
    from filelock import FileLock
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with FileLock(f'{path}.lock'):
        yield not os.path.exists(path)


def shared_dir(tmp_path_factory, name):
    """A directory all test processes of this session see (pytest-xdist's workers have their own basetemp)."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base) / name


def trained_steps(work_dir):
    """The iterations a work dir's logs record as trained, in order (a resumed run's included)."""
    return [r['step'] for r in scalars(work_dir) if 'loss' in r]


def wait_for_step(process, work_dir, step, timeout=600):
    """Waits until `process` (a Popen training into `work_dir`) has logged iteration `step`."""
    deadline = time.time() + timeout
    while process.poll() is None and time.time() < deadline:
        if any(s >= step for s in trained_steps(work_dir)):
            return
        time.sleep(0.1)
    raise AssertionError(f'no step {step} in {work_dir} (exit {process.poll()})')


def final_miou(stdout):
    """The mIoU of the line training prints when it ends."""
    lines = [line for line in stdout.splitlines() if line.startswith('mIoU: ')]
    assert lines, f'no mIoU line in the output:\n{stdout[-3000:]}'
    return float(lines[-1].split()[1].rstrip(';'))


def table_cells(output, first):
    """The cells of the Markdown table row of `output` whose first cell is `first` (run_all.py's status table)."""
    row = next(line for line in output.splitlines() if line.startswith(f'| {first} |'))
    return [cell.strip() for cell in row.strip('|').split('|')]


def user_error(result, *expected):
    """The run stopped with one paragraph (the last line of stderr, after any log), exit 2, no traceback."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith('error: '), result.stderr[-3000:]
    for text in expected:
        assert text in result.stderr, result.stderr[-3000:]


@pytest.fixture
def script_copy():
    """make(model, copy_name, edit=None): writes train_<copy_name>.py at the repo root as a copy of
    train_<model>.py, with edit(text) -> text applied; every copy (and its default work dirs) is removed after."""
    made = []

    def make(model, copy_name, edit=None):
        with open(os.path.join(REPO, f'train_{model}.py')) as f:
            text = f.read()
        text = edit(text) if edit else text
        path = os.path.join(REPO, f'train_{copy_name}.py')
        with open(path, 'w') as f:
            f.write(text)
        if copy_name not in made:
            made.append(copy_name)
        return path
    yield make
    import shutil
    for name in made:
        os.remove(os.path.join(REPO, f'train_{name}.py'))
        for suffix in ('_ade20k', '_ade20k_smoke'):
            shutil.rmtree(os.path.join(REPO, 'work_dirs', name + suffix), ignore_errors=True)


def add_to_config(*lines):
    """An edit for script_copy: `lines` of Python added to the script's config(), after its knobs."""
    def edit(text):
        body = ''.join(f'    {line}\n' for line in lines)
        return text.replace('    return cfg\n', body + '    return cfg\n', 1)
    return edit


def set_knob(name, value):
    """An edit for script_copy: the module-level knob `name` (crop_size, batch_size, max_iters) set to `value`."""
    def edit(text):
        return re.sub(rf'^{name} = .*$', f'{name} = {value}', text, count=1, flags=re.MULTILINE)
    return edit


@pytest.fixture(scope='session')
def tiny_ade():
    """The generated tiny subset at the path --smoke uses by default."""
    from training.smoke import SMOKE_DATA_ROOT
    from training.data.tiny_ade import make_tiny_ade
    path = os.path.join(REPO, SMOKE_DATA_ROOT)
    with made_once(path) as first:
        if first:
            make_tiny_ade(path)
    return path


@pytest.fixture(scope='session')
def weight_files(tmp_path_factory):
    """{fixture: path} of the five seed files' fixtures (tests/weight_fixtures.py), made once for all test
    processes (together 0.9 GB; about a minute)."""
    import weight_fixtures
    directory = shared_dir(tmp_path_factory, 'pretrain')
    with made_once(directory / 'files.json') as first:
        if first:
            os.makedirs(directory, exist_ok=True)
            made = {name: getattr(weight_fixtures, name)(str(directory)) for name in weight_fixtures.SEED_FILES}
            (directory / 'files.json').write_text(json.dumps(made))
    return json.loads((directory / 'files.json').read_text())


@pytest.fixture(scope='session')
def fcn_smoke(tiny_ade, tmp_path_factory):
    """(work dir, result) of `python train_fcn.py --smoke`, run once for all test processes: test_smoke checks it
    as it checks the other scripts' smokes; the checkpoint-format, evaluate, infer and summarize tests read it."""
    work_dir = shared_dir(tmp_path_factory, 'runs') / 'fcn_ade20k'
    record = work_dir.parent / 'fcn_ade20k.json'
    with made_once(record) as first:
        if first:
            result = run_script('fcn', '--smoke', '--work-dir', work_dir)
            record.write_text(json.dumps(dict(args=result.args, returncode=result.returncode, stdout=result.stdout,
                                              stderr=result.stderr)))
    return work_dir, subprocess.CompletedProcess(**json.loads(record.read_text()))


@pytest.fixture(scope='session')
def fcn_40_iterations(tiny_ade, tmp_path_factory):
    """(work dir, result) of FCN trained 40 smoke iterations from seed 0 in fp32, run once for all test processes:
    test_learning's trained FCN and the fp32 side of test_amp's bf16 agreement."""
    work_dir = shared_dir(tmp_path_factory, 'runs') / 'fcn_40_fp32'
    record = work_dir.parent / 'fcn_40_fp32.json'
    with made_once(record) as first:
        if first:
            result = run_script('fcn', *FCN_40_ITERATIONS, '--work-dir', work_dir)
            record.write_text(json.dumps(dict(args=result.args, returncode=result.returncode, stdout=result.stdout,
                                              stderr=result.stderr)))
    return work_dir, subprocess.CompletedProcess(**json.loads(record.read_text()))


# For a run whose test reads only its log and its last validation: no checkpoint is written (one of FCN is 0.4 GB, of
# vit_deit 1.6 GB, and MMEngine writes the last one again at each new best: on this machine, writing them is a large
# share of a short run's time).
NO_CHECKPOINTS = ('default_hooks.checkpoint.interval=-1', 'default_hooks.checkpoint.save_last=False',
                  'default_hooks.checkpoint.save_best=None')
FCN_40_ITERATIONS = ('--smoke', '--iters', 40, '--no-val-report', '--cfg-options', 'randomness.seed=0', *NO_CHECKPOINTS)
REFERENCE_ITERS = 16


@pytest.fixture(scope='session')
def fcn_reference(tiny_ade, tmp_path_factory):
    """The weights of `python train_fcn.py --smoke --iters 16`, trained once for all test processes: the run every
    interrupted, resumed, re-run or differently loaded run of that command must equal, bit for bit."""
    work_dir = shared_dir(tmp_path_factory, 'runs') / 'fcn_reference'
    with made_once(work_dir) as first:
        if first:
            result = run_script('fcn', '--smoke', '--iters', REFERENCE_ITERS, '--work-dir', f'{work_dir}.partial')
            assert result.returncode == 0, result.stderr[-3000:]
            os.rename(f'{work_dir}.partial', work_dir)
    return work_dir / f'iter_{REFERENCE_ITERS}.pth'


def different_weights(checkpoint, other):
    """The names of the tensors that differ between two checkpoints' weights (bit for bit), [] where none does."""
    import torch
    ours, theirs = (torch.load(path, map_location='cpu', weights_only=True)['state_dict'] for path in (checkpoint, other))
    assert ours.keys() == theirs.keys()
    return [key for key in ours if not torch.equal(ours[key], theirs[key])]


@pytest.fixture(autouse=True)
def delete_checkpoints_afterwards(request):
    """Smoke runs write checkpoints of up to 3.5 GB (SETR ViT-L): 29 of them would fill a CI disk."""
    yield
    tmp_path = request.node.funcargs.get('tmp_path')
    if tmp_path is not None:
        for checkpoint in tmp_path.rglob('*.pth'):
            checkpoint.unlink()
