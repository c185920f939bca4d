"""A broken ADE20K directory is found before training (tools/check_ade.py, training/data/dataset_check.py): one
paragraph naming the file and the fix, exit 2, no traceback."""
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_script, user_error
from training.data.dataset_check import check_ade


@pytest.fixture
def broken_ade(tiny_ade, tmp_path):
    root = tmp_path / 'ADEChallengeData2016'
    shutil.copytree(tiny_ade, root)
    return root


def test_each_kind_of_broken_file_is_named(broken_ade):
    (broken_ade / 'annotations/training/ADE_train_00000003.png').unlink()           # image without annotation
    (broken_ade / 'images/validation/ADE_val_00000002.jpg').unlink()                # annotation without image
    jpg = broken_ade / 'images/training/ADE_train_00000005.jpg'
    jpg.write_bytes(jpg.read_bytes()[:200])                                         # unreadable image
    label = broken_ade / 'annotations/training/ADE_train_00000007.png'
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(label)                     # label outside 0..150
    problems = '\n'.join(check_ade(str(broken_ade)))
    assert 'ADE_train_00000003.jpg: no annotation' in problems
    assert 'ADE_val_00000002.png: no image' in problems
    assert 'ADE_train_00000005.jpg: cannot be decoded' in problems
    assert "ADE_train_00000007.png: holds label 255, outside ADE20K's 0..150" in problems


def test_training_refuses_a_broken_dataset(broken_ade, tmp_path):
    label = broken_ade / 'annotations/validation/ADE_val_00000001.png'
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(label)
    result = run_script('fcn', '--smoke', '--data-root', broken_ade, '--work-dir', tmp_path / 'w')
    user_error(result, 'ADE_val_00000001.png: holds label 200', 'python tools/check_ade.py')
    assert not (tmp_path / 'w').exists() or not list((tmp_path / 'w').glob('*.pth'))


def test_empty_split(broken_ade):
    for image in (broken_ade / 'images/validation').iterdir():
        image.unlink()
    for label in (broken_ade / 'annotations/validation').iterdir():
        label.unlink()
    assert any('no .jpg images (empty split)' in p for p in check_ade(str(broken_ade)))


def test_a_passed_check_is_cached(broken_ade, monkeypatch):
    assert check_ade(str(broken_ade)) == []
    import training.data.dataset_check as check_module
    monkeypatch.setattr(check_module, '_decodes', lambda *a, **k: pytest.fail('decoded again'))
    assert check_ade(str(broken_ade)) == []
    (broken_ade / 'images/training/ADE_train_00000001.jpg').write_bytes(b'changed')  # a change invalidates it
    monkeypatch.undo()
    assert check_ade(str(broken_ade)) != []


def _empty_validation(root):
    for folder in ('images/validation', 'annotations/validation'):
        for path in (root / folder).iterdir():
            path.unlink()
    return root / 'images/validation'


def _truncate(path):
    path.write_bytes(path.read_bytes()[:200])
    return path


BREAKAGES = {  # how to break the copy -> the path the message must name
    'empty split': _empty_validation,
    'image without annotation': lambda root: (root / 'annotations/training/ADE_train_00000003.png').unlink()
    or root / 'images/training/ADE_train_00000003.jpg',
    'annotation without image': lambda root: (root / 'images/training/ADE_train_00000004.jpg').unlink()
    or root / 'annotations/training/ADE_train_00000004.png',
    'unreadable image': lambda root: _truncate(root / 'images/training/ADE_train_00000005.jpg'),
    'label out of range': lambda root: Image.fromarray(np.full((8, 8), 151, np.uint8)).save(
        root / 'annotations/training/ADE_train_00000006.png') or root / 'annotations/training/ADE_train_00000006.png',
}


@pytest.mark.parametrize('breakage', BREAKAGES)
def test_each_bad_dataset_stops_the_script_with_its_path(broken_ade, tmp_path, breakage):
    named = BREAKAGES[breakage](broken_ade)
    result = run_script('fcn', '--smoke', '--data-root', broken_ade, '--work-dir', tmp_path / 'w')
    user_error(result, str(named))
