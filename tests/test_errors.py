"""Mistakes a user can make, and failures during training, get one paragraph naming the file or setting and the
fix, exit 2, no traceback (unless --debug), and lose no checkpoint."""
import pytest
import torch

from conftest import run_script, user_error
from training.experiments import load_script
from training.runner import train


def _assert_user_error(result, *expected):
    user_error(result, *expected)
    assert result.stderr.startswith('error: ')  # found before any log line


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
    user_error(result, 'pretrain/nothing/resnet50-11ad3fa6.pth',
               'wget https://download.pytorch.org/models/resnet50-11ad3fa6.pth', '--no-pretrain')
    cpu_warning = 'no GPU is visible: this training runs on the CPU' in result.stderr
    assert cpu_warning != torch.cuda.is_available()  # said on a machine without a GPU, and only there


def test_debug_shows_the_traceback(tmp_path):
    result = run_script('fcn', '--data-root', tmp_path / 'none', '--debug')
    assert result.returncode != 0 and 'Traceback' in result.stderr and 'UserError' in result.stderr


def test_diverging_loss_stops_and_keeps_the_last_good_checkpoint(tiny_ade, tmp_path):
    work_dir = tmp_path / 'w'
    result = run_script('fcn', '--smoke', '--iters', 4, '--work-dir', work_dir, '--cfg-options',
                        'optim_wrapper.optimizer.lr=1e12', 'default_hooks.checkpoint.interval=1')
    user_error(result, 'The loss became', 'training stopped', 'optim_wrapper.optimizer.lr')
    stopped_at = int(result.stderr.split(' at iteration ')[1].split(':')[0])
    assert (work_dir / f'iter_{stopped_at - 1}.pth').is_file() if stopped_at > 1 else True
    assert not (work_dir / f'iter_{stopped_at}.pth').exists()  # the diverged model was not saved


def test_cuda_out_of_memory_is_explained(tiny_ade, tmp_path, monkeypatch, capsys):
    from mmengine.runner import Runner

    def out_of_memory(self):
        raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
    monkeypatch.setattr(Runner, 'train', out_of_memory)
    with pytest.raises(SystemExit) as exit_:
        script = load_script('fcn')
        train(script.config, script.OFFICIAL, ['--smoke', '--work-dir', str(tmp_path / 'w')])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert 'CUDA ran out of memory' in err and '--amp' in err and '--total-batch' in err and 'continues' in err
    assert 'Traceback' not in err and err.startswith('error: ')
