"""The checkpoints a run writes open in other tools on torch >= 2.6: a plain torch.load (weights_only) and MMSeg's
own init_model/inference_model, in a fresh interpreter without this project's code; resuming still works."""
import os
import subprocess
import sys
import textwrap

import pytest


@pytest.fixture(scope='module')
def smoke_checkpoint(fcn_smoke):
    work_dir, result = fcn_smoke  # `train_fcn.py --smoke`, shared with test_smoke.py
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir / 'iter_4.pth'


def _fresh_python(code, tmp_path):
    """Runs `code` in a new interpreter whose only path to this repo is none (cwd elsewhere, no sys.path edits)."""
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)


def test_plain_torch_load_with_weights_only(smoke_checkpoint, tmp_path):
    result = _fresh_python(f'''
        import torch
        checkpoint = torch.load({str(smoke_checkpoint)!r}, weights_only=True)
        print(sorted(checkpoint), checkpoint['meta']['iter'])
    ''', tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "['message_hub', 'meta', 'optimizer', 'param_schedulers', 'rng_states', 'state_dict'] 4" in result.stdout


def test_mmseg_init_model_and_inference_model(smoke_checkpoint, tiny_ade, tmp_path):
    result = _fresh_python(f'''
        import torch
        from mmengine.config import Config
        from mmseg.apis import inference_model, init_model
        cfg = Config.fromstring(torch.load({str(smoke_checkpoint)!r}, weights_only=True)['meta']['cfg'], '.py')
        model = init_model(cfg, {str(smoke_checkpoint)!r}, device='cpu')
        result = inference_model(model, {tiny_ade + '/images/validation/ADE_val_00000001.jpg'!r})
        print('prediction', tuple(result.pred_sem_seg.data.shape), 'resized to', max(result.img_shape))
    ''', tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # the tiny image is resized as in the run's (smoke-scaled) validation, (256, 64): not (2048, 512)
    assert 'prediction (1,' in result.stdout and int(result.stdout.split('resized to ')[1]) <= 256


def test_the_recorded_config_keeps_its_pipelines_in_sync(smoke_checkpoint):
    import torch
    from mmengine.config import Config
    cfg = Config.fromstring(torch.load(smoke_checkpoint, weights_only=True)['meta']['cfg'], '.py')
    assert cfg.test_pipeline == cfg.val_dataloader.dataset.pipeline == cfg.test_dataloader.dataset.pipeline
    assert cfg.train_pipeline == cfg.train_dataloader.dataset.pipeline
    assert {step.type: step for step in cfg.test_pipeline}['Resize'].scale == (256, 64)


def test_mmsegs_own_test_tool_runs_on_a_smoke_checkpoint(smoke_checkpoint, tmp_path):
    """MMSeg's tools/test.py, with the ops of this venv's MMCV (by default the project's pure-PyTorch ones)."""
    import mmseg
    import torch

    from conftest import REPO
    config = tmp_path / 'fcn_smoke.py'
    config.write_text(torch.load(smoke_checkpoint, weights_only=True)['meta']['cfg'])
    tool = os.path.join(os.path.dirname(mmseg.__file__), '.mim', 'tools', 'test.py')
    test = subprocess.run([sys.executable, tool, str(config), str(smoke_checkpoint), '--work-dir',
                           str(tmp_path / 'test')], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr
