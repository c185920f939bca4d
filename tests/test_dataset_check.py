"""Bad input found before (or, for a diverging loss, during) training: one paragraph naming the file or
setting and the fix, exit 2, no traceback, and no checkpoint lost."""
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import common
from conftest import run_script
from tools.check_ade import check_ade


@pytest.fixture
def broken_ade(tiny_ade, tmp_path):
    root = tmp_path / 'ADEChallengeData2016'
    shutil.copytree(tiny_ade, root)
    return root


def _user_error(result, *expected):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith('error: ')  # the last paragraph, after any log
    for text in expected:
        assert text in result.stderr, result.stderr[-3000:]


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
    _user_error(result, 'ADE_val_00000001.png: holds label 200', 'python tools/check_ade.py')
    assert not (tmp_path / 'w').exists() or not list((tmp_path / 'w').glob('*.pth'))


def test_empty_split(broken_ade):
    for image in (broken_ade / 'images/validation').iterdir():
        image.unlink()
    for label in (broken_ade / 'annotations/validation').iterdir():
        label.unlink()
    assert any('no .jpg images (empty split)' in p for p in check_ade(str(broken_ade)))


def test_a_passed_check_is_cached(broken_ade, monkeypatch):
    assert check_ade(str(broken_ade)) == []
    import tools.check_ade as check_module
    monkeypatch.setattr(check_module, '_decodes', lambda *a, **k: pytest.fail('decoded again'))
    assert check_ade(str(broken_ade)) == []
    (broken_ade / 'images/training/ADE_train_00000001.jpg').write_bytes(b'changed')  # a change invalidates it
    monkeypatch.undo()
    assert check_ade(str(broken_ade)) != []


def test_diverging_loss_stops_and_keeps_the_last_good_checkpoint(tiny_ade, tmp_path):
    work_dir = tmp_path / 'w'
    result = run_script('fcn', '--smoke', '--iters', 4, '--work-dir', work_dir, '--cfg-options',
                        'optim_wrapper.optimizer.lr=1e12', 'default_hooks.checkpoint.interval=1')
    _user_error(result, 'The loss became', 'training stopped', 'optim_wrapper.optimizer.lr')
    stopped_at = int(result.stderr.split(' at iteration ')[1].split(':')[0])
    assert (work_dir / f'iter_{stopped_at - 1}.pth').is_file() if stopped_at > 1 else True
    assert not (work_dir / f'iter_{stopped_at}.pth').exists()  # the diverged model was not saved


def test_cuda_out_of_memory_is_explained(tiny_ade, tmp_path, monkeypatch, capsys):
    from mmengine.runner import Runner

    def out_of_memory(self):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
    monkeypatch.setattr(Runner, 'train', out_of_memory)
    with pytest.raises(SystemExit) as exit_:
        common.train('train_fcn.py', ['--smoke', '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'CUDA ran out of memory' in err and '--amp' in err and 'batch_size=1' in err and 'continues' in err
    assert 'Traceback' not in err and err.startswith('error: ')


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
    _user_error(result, str(named))
