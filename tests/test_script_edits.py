"""Editing a script tweaks its model: three edits made to copies of scripts, checked through --print-config and a
smoke run, and a copied script as its own experiment."""
import pytest
from mmengine.config import Config

from conftest import NO_CHECKPOINTS, add_to_config, final_miou, run_script, scalars, set_knob


def _printed(name, tmp_path, *args):
    result = run_script(name, '--print-config', *args)
    assert result.returncode == 0, result.stderr[-3000:]
    path = tmp_path / f'{name}{len(args)}.py'
    path.write_text(result.stdout)
    return Config.fromfile(str(path))


def _smoke_trains(name, tmp_path):
    result = run_script(name, '--smoke', '--iters', 2, '--no-val-report', '--work-dir', tmp_path / name,
                        '--cfg-options', *NO_CHECKPOINTS)  # (trains and validates: no more is asked of it here)
    assert result.returncode == 0, result.stderr[-3000:]
    final_miou(result.stdout)
    return result


def test_segformer_decoder_channels_and_lr(script_copy, tiny_ade, tmp_path):
    script_copy('segformer', 'segformer_testcopy', add_to_config('cfg.model.decode_head.channels = 128',
                                                             'cfg.optim_wrapper.optimizer.lr = 1.2e-4'))
    for args in ((), ('--smoke',)):
        cfg = _printed('segformer_testcopy', tmp_path, *args)
        assert cfg.model.decode_head.channels == 128
        assert cfg.optim_wrapper.optimizer.lr == pytest.approx(1.2e-4)
    result = _smoke_trains('segformer_testcopy', tmp_path)
    assert 'lr: 1.2000e-04' in result.stdout + result.stderr  # the first step's LR, before the poly decay
    assert all(r['lr'] <= 1.2e-4 + 1e-12 for r in scalars(tmp_path / 'segformer_testcopy') if 'lr' in r)


def test_swin_drop_path_rate(script_copy, tiny_ade, tmp_path):
    script_copy('swin', 'swin_testcopy', add_to_config('cfg.model.backbone.drop_path_rate = 0.2'))
    assert _printed('swin_testcopy', tmp_path).model.backbone.drop_path_rate == 0.2
    _smoke_trains('swin_testcopy', tmp_path)


def test_fcn_crop_640(script_copy, tiny_ade, tmp_path):
    script_copy('fcn', 'fcn_testcopy', set_knob('crop_size', '(640, 640)'))
    cfg = _printed('fcn_testcopy', tmp_path)
    train_steps = {step.type: step for step in cfg.train_dataloader.dataset.pipeline}
    assert tuple(train_steps['RandomCrop'].crop_size) == (640, 640)
    assert tuple(train_steps['RandomResize'].scale) == (2560, 640)       # MMSeg's 640 recipes resize so too
    assert tuple(cfg.model.data_preprocessor.size) == (640, 640)
    for pipeline in (cfg.test_pipeline, cfg.val_dataloader.dataset.pipeline, cfg.test_dataloader.dataset.pipeline):
        assert tuple({step.type: step for step in pipeline}['Resize'].scale) == (2560, 640)
    smoke = _printed('fcn_testcopy', tmp_path, '--smoke')                     # --smoke scales the script's crop
    assert tuple({s.type: s for s in smoke.train_dataloader.dataset.pipeline}['RandomCrop'].crop_size) == (80, 80)
    assert tuple(smoke.model.data_preprocessor.size) == (80, 80)
    assert tuple({s.type: s for s in smoke.test_pipeline}['Resize'].scale) == (320, 80)
    _smoke_trains('fcn_testcopy', tmp_path)


def test_a_copied_script_is_its_own_experiment(script_copy, tiny_ade):
    from conftest import REPO
    script_copy('fcn', 'fcn_testcopy_a')
    script_copy('fcn', 'fcn_testcopy_b')
    first = run_script('fcn_testcopy_a', '--smoke', '--iters', 2)
    assert first.returncode == 0, first.stderr[-3000:]
    copy = run_script('fcn_testcopy_b', '--smoke', '--iters', 4)
    assert copy.returncode == 0, copy.stderr[-3000:]
    assert 'continuing from' not in copy.stderr
    assert [r['step'] for r in scalars(f'{REPO}/work_dirs/fcn_testcopy_b_ade20k_smoke') if 'loss' in r] == [1, 2, 3, 4]
    assert [r['step'] for r in scalars(f'{REPO}/work_dirs/fcn_testcopy_a_ade20k_smoke') if 'loss' in r] == [1, 2]
