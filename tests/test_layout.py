"""The layout shows the architecture: scripts and user tools at the root import the training/ package, the package
never imports the root or tools/, tools/ are thin wrappers, and the project's model modules stand on MMSeg alone."""
import ast
import glob
import os

import pytest

from conftest import REPO

ROOT_MODULES = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(f'{REPO}/*.py')}  # common, train_*...


def _imports(path):
    """Top-level names of every module `path` imports (relative imports as '.')."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add('.' if node.level else node.module.split('.')[0])
    return names


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/training/**/*.py', recursive=True)))
def test_the_package_imports_neither_the_root_nor_tools(path):
    assert not _imports(path) & (ROOT_MODULES | {'tools'}), path


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/training/models/*.py')))
def test_model_modules_depend_on_mmseg_mmcv_and_torch_only(path):
    assert _imports(path) <= {'.', 'torch', 'mmcv', 'mmengine', 'mmseg', 'functools', 'warnings'}, path


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/tools/*.py')))
def test_tools_are_thin_wrappers(path):
    code = [line for line in open(path) if line.strip() and not line.lstrip().startswith('#')]
    assert len(code) <= 40 and 'training' in _imports(path), path


def test_common_holds_the_protocol_and_little_else():
    import common
    code = [line for line in open(f'{REPO}/common.py') if line.strip() and not line.lstrip().startswith('#')]
    assert len(code) <= 45
    assert {'apply_protocol', 'load_config', 'train'} <= set(common.__all__)


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/train_*.py')))
def test_scripts_are_one_page_that_shows_their_steps(path):
    text = open(path).read()
    assert len(text.splitlines()) <= 50, path
    for step in ('OFFICIAL = dict(', 'load_config(', 'apply_protocol(', 'train(config, OFFICIAL)'):
        assert step in text, (path, step)
