"""The layout shows the architecture: scripts and user tools at the root import the training/ package, the package
never imports the root or tools/, tools/ are thin wrappers, and the project's model modules stand on MMSeg alone."""
import ast
import glob
import os

import pytest

from conftest import REPO

ROOT_MODULES = {os.path.splitext(os.path.basename(p))[0] for p in glob.glob(f'{REPO}/*.py')}  # common, train_*...


def imported_modules(source, package):
    """Every module the Python `source` imports, as absolute dotted names: a relative import is resolved against
    `package` (the dotted package of the file; `from .. import config` in training.models is training.config)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split('.')
            base = '.'.join(parts[:len(parts) - (node.level - 1)])
            names |= {f'{base}.{node.module}'} if node.module else {f'{base}.{alias.name}' for alias in node.names}
    return names


def _imports(path):
    package = os.path.relpath(os.path.dirname(path), REPO).replace(os.sep, '.').strip('.')
    return imported_modules(open(path).read(), package)


def _top_level(names):
    return {name.split('.')[0] for name in names}


MODEL_DEPENDENCIES = {'torch', 'mmcv', 'mmengine', 'mmseg', 'functools', 'warnings'}


def _outside_dependencies_of_a_model_module(names):
    """What a module of training/models imports beyond its own package and MODEL_DEPENDENCIES."""
    return {name for name in names if not (name == 'training.models' or name.startswith('training.models.')
                                           or name.split('.')[0] in MODEL_DEPENDENCIES)}


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/training/**/*.py', recursive=True)))
def test_the_package_imports_neither_the_root_nor_tools(path):
    assert not _top_level(_imports(path)) & (ROOT_MODULES | {'tools'}), path


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/training/models/*.py')))
def test_model_modules_depend_on_mmseg_mmcv_and_torch_only(path):
    assert not _outside_dependencies_of_a_model_module(_imports(path)), path


@pytest.mark.parametrize('source', ['from .. import config', 'from ..config import REPO_ROOT', 'import training.hooks',
                                    'from training import speed', 'from ... import common'])
def test_the_model_rule_sees_an_import_of_the_rest_of_training(source):
    """The rule above on an import it must refuse (a module of training/models reaching up into training/)."""
    assert _outside_dependencies_of_a_model_module(imported_modules(source, 'training.models'))


def test_the_model_rule_allows_the_models_own_package():
    assert not _outside_dependencies_of_a_model_module(imported_modules(
        'from . import deformable_attention\nfrom .vit_adapter import ViTAdapter\nimport torch.nn', 'training.models'))


@pytest.mark.parametrize('path', sorted(glob.glob(f'{REPO}/tools/*.py')))
def test_tools_are_thin_wrappers(path):
    code = [line for line in open(path) if line.strip() and not line.lstrip().startswith('#')]
    assert len(code) <= 40 and 'training' in _top_level(_imports(path)), path


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
