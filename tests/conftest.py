import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
from common import all_models, read_scalars as scalars  # noqa: E402

MODELS = all_models()


def run_script(model, *args, timeout=900, env=None):
    """Runs train_<model>.py from the repo root, as a user would; returns the CompletedProcess."""
    return subprocess.run([sys.executable, f'train_{model}.py', *map(str, args)], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})


def final_miou(stdout):
    """The mIoU of the line common.py prints when training ends."""
    lines = [line for line in stdout.splitlines() if line.startswith('mIoU: ')]
    assert lines, f'no mIoU line in the output:\n{stdout[-3000:]}'
    return float(lines[-1].split()[1].rstrip(';'))


@pytest.fixture(scope='session')
def tiny_ade():
    """The generated tiny subset at the path --smoke uses by default."""
    from common import SMOKE_DATA_ROOT
    from tools.make_tiny_ade import make_tiny_ade
    path = os.path.join(REPO, SMOKE_DATA_ROOT)
    if not os.path.isdir(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        make_tiny_ade(path)
    return path


@pytest.fixture(autouse=True)
def delete_checkpoints_afterwards(request):
    """Smoke runs write checkpoints of up to 3.5 GB (SETR ViT-L): 27 of them would fill a CI disk."""
    yield
    tmp_path = request.node.funcargs.get('tmp_path')
    if tmp_path is not None:
        for checkpoint in tmp_path.rglob('*.pth'):
            checkpoint.unlink()
