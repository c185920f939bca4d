import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from training.checkpoints import read_scalars as scalars  # noqa: E402,F401
from training.experiments import all_names  # noqa: E402

MODELS = all_names()


def run_script(model, *args, timeout=900, env=None):
    """Runs train_<model>.py from the repo root, as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, f'train_{model}.py', *map(str, args)], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})


def final_miou(stdout):
    """The mIoU of the line training prints when it ends."""
    lines = [line for line in stdout.splitlines() if line.startswith('mIoU: ')]
    assert lines, f'no mIoU line in the output:\n{stdout[-3000:]}'
    return float(lines[-1].split()[1].rstrip(';'))


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
    from training.tiny_ade import make_tiny_ade
    path = os.path.join(REPO, SMOKE_DATA_ROOT)
    if not os.path.isdir(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        make_tiny_ade(path)
    return path


@pytest.fixture(autouse=True)
def delete_checkpoints_afterwards(request):
    """Smoke runs write checkpoints of up to 3.5 GB (SETR ViT-L): 29 of them would fill a CI disk."""
    yield
    tmp_path = request.node.funcargs.get('tmp_path')
    if tmp_path is not None:
        for checkpoint in tmp_path.rglob('*.pth'):
            checkpoint.unlink()
