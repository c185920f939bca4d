"""Mistakes a user can make get one paragraph naming the file and the fix, exit 2, no traceback."""
import pytest
import torch

from conftest import run_script


def _assert_user_error(result, *expected):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert result.stderr.startswith('error: ')
    for text in expected:
        assert text in result.stderr, result.stderr


def test_missing_data_root(tmp_path):
    missing = tmp_path / 'nowhere' / 'ADEChallengeData2016'
    result = run_script('fcn', '--data-root', missing, '--no-pretrain')
    _assert_user_error(result, str(missing), 'ADEChallengeData2016.zip', 'unzip', '--smoke')


def test_incomplete_data_root(tmp_path):
    (tmp_path / 'images' / 'training').mkdir(parents=True)
    result = run_script('pspnet', '--data-root', tmp_path, '--no-pretrain')
    _assert_user_error(result, str(tmp_path), 'annotations/training')


def test_missing_pretrained_file(tiny_ade, tmp_path):
    result = run_script('fcn', '--data-root', tiny_ade, '--work-dir', tmp_path / 'w',
                        '--cfg-options', 'model.backbone.init_cfg.checkpoint=pretrain/nothing/resnet50-11ad3fa6.pth')
    _assert_user_error(result, 'pretrain/nothing/resnet50-11ad3fa6.pth',
                       'wget https://download.pytorch.org/models/resnet50-11ad3fa6.pth', '--no-pretrain')


def test_debug_shows_the_traceback(tmp_path):
    result = run_script('fcn', '--data-root', tmp_path / 'none', '--debug')
    assert result.returncode != 0 and 'Traceback' in result.stderr and 'UserError' in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the message shown without a GPU')
def test_amp_without_gpu(tiny_ade, tmp_path):
    result = run_script('fcn', '--smoke', '--amp', '--work-dir', tmp_path / 'w')
    _assert_user_error(result, '--amp needs a CUDA GPU')
