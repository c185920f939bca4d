"""The five seed weight files load completely, converted where needed, and wrong files are refused.

The files are fixtures built from the real libraries' model definitions (tests/weight_fixtures.py)."""
import os
import re
import shutil

import pytest
import torch

import weight_fixtures
from conftest import REPO, run_script

USERS = {  # which scripts use which seed file (the configs/<model>.py name it)
    'torchvision_resnet50': ['fcn', 'pspnet', 'deeplabv3plus', 'upernet', 'gcnet', 'isanet', 'nonlocal', 'dnlnet',
                             'psanet', 'pointrend', 'knet', 'fastfcn', 'maskformer', 'mask2former'],
    'official_swin_base_384_22k': ['swin', 'sem_fpn'],
    'timm_vit_base_384': ['vit_deit', 'segmenter'],
    'mmseg_mit_b0': ['segformer'],
    'mmpretrain_poolformer_s12': ['poolformer'],
}


def _loaded_line(result):
    lines = [line for line in (result.stdout + result.stderr).splitlines() if 'pretrained: loaded' in line]
    assert lines, result.stderr[-3000:]
    loaded, expected = map(int, re.search(r'loaded (\d+)/(\d+) backbone tensors', lines[-1]).groups())
    return loaded, expected


def test_the_fixtures_are_the_seed_files():
    assert set(USERS) == set(weight_fixtures.SEED_FILES)


def test_every_config_names_its_seed_file():
    from mmengine.config import Config
    seed = {'torchvision_resnet50': 'resnet50-11ad3fa6.pth',
            'official_swin_base_384_22k': 'swin_base_patch4_window12_384_22k.pth',
            'timm_vit_base_384': 'jx_vit_base_p16_384-83fb41ba.pth',
            'mmseg_mit_b0': 'mit_b0_20220624-7e0fe6dd.pth',
            'mmpretrain_poolformer_s12': 'poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth'}
    for fixture, models in USERS.items():
        for model in models:
            cfg = Config.fromfile(os.path.join(REPO, 'configs', f'{model}.py'))
            named = cfg.model.get('pretrained') or cfg.model.backbone.init_cfg.checkpoint
            assert named == f'pretrain/{seed[fixture]}', model


@pytest.mark.parametrize('fixture,model', [(f, m) for f, models in USERS.items() for m in models])
def test_check_pretrain_loads_every_backbone_tensor(weight_files, fixture, model):
    result = run_script(model, '--check-pretrain', '--pretrain', weight_files[fixture])
    assert result.returncode == 0, result.stderr[-3000:]
    loaded, expected = _loaded_line(result)
    assert loaded == expected > 100


@pytest.mark.parametrize('model,fixture,loaded,new', [
    ('vit_deit', 'timm_vit_base_384', 147, r'^(?!layers\.\d+\.(ln|attn\.attn|ffn\.layers)|patch_embed|pos_embed)'),
    ('sem_fpn', 'official_swin_base_384_22k', 349, r'\.semantic_layer\.')])
def test_ported_models_load_every_vit_or_swin_tensor_and_count_their_own(weight_files, model, fixture, loaded, new):
    """ViT-Adapter: all 147 ViT tensors of the file (its cls_token and final norm are unused, as in the official
    code); SeMask: all 349 Swin tensors. Their own tensors (adapter, layer scales; semantic layers) are reported as
    newly initialised, and nothing else is."""
    from training.project_runner import build_model
    from training.trained import experiment_config
    result = run_script(model, '--check-pretrain', '--pretrain', weight_files[fixture])
    assert result.returncode == 0, result.stderr[-3000:]
    assert _loaded_line(result) == (loaded, loaded)
    backbone = build_model(experiment_config(model, ['--no-pretrain'])).backbone
    own = [k for k in backbone.state_dict() if not k.endswith('num_batches_tracked') and re.search(new, k)]
    assert f'; {len(own)} tensors of {type(backbone).__name__} newly initialised' in result.stdout


def test_conversion_is_cached_and_the_original_untouched(weight_files, tmp_path):
    source = shutil.copy(weight_files['timm_vit_base_384'], tmp_path)  # its own converted/ beside it
    before = os.stat(source).st_mtime_ns
    first = run_script('vit_deit', '--check-pretrain', '--pretrain', source)
    converted = [os.path.join(os.path.dirname(source), 'converted', f)
                 for f in os.listdir(os.path.join(os.path.dirname(source), 'converted')) if f.startswith('jx_vit')]
    assert first.returncode == 0 and len(converted) == 1
    written = os.stat(converted[0]).st_mtime_ns
    second = run_script('segmenter', '--check-pretrain', '--pretrain', source)
    assert second.returncode == 0
    assert os.stat(converted[0]).st_mtime_ns == written  # reused, not rewritten
    assert os.stat(source).st_mtime_ns == before


def _cut_off_copy(source, directory):
    """The first half of `source`, under the same name: an interrupted download."""
    truncated = directory / os.path.basename(source)
    with open(source, 'rb') as f:
        truncated.write_bytes(f.read(os.path.getsize(source) // 2))
    return truncated


def test_truncated_file_is_rejected(weight_files, tmp_path):
    truncated = _cut_off_copy(weight_files['torchvision_resnet50'], tmp_path)
    result = run_script('fcn', '--check-pretrain', '--pretrain', truncated)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert str(truncated) in result.stderr and 'SHA-256' in result.stderr and 'download it again' in result.stderr


def test_truncated_file_without_hash_in_its_name_is_rejected(weight_files, tmp_path):
    truncated = _cut_off_copy(weight_files['official_swin_base_384_22k'], tmp_path)
    result = run_script('swin', '--check-pretrain', '--pretrain', truncated)
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'cannot be read as a weight file' in result.stderr and str(truncated) in result.stderr


def test_wrong_file_under_the_right_name_is_rejected(weight_files, tmp_path):
    impostor = tmp_path / 'resnet50-11ad3fa6.pth'
    shutil.copy(weight_files['mmseg_mit_b0'], impostor)
    result = run_script('fcn', '--check-pretrain', '--pretrain', impostor)
    assert result.returncode == 2 and 'its SHA-256 starts with' in result.stderr
    # the file at fault is the one --pretrain named: the way out is to check it, not to download the config's file
    assert 'wget' not in result.stderr and 'Check the file given to --pretrain' in result.stderr


def test_file_for_another_backbone_is_refused_before_training(weight_files, tiny_ade, tmp_path):
    # a well-formed file of the wrong model: strict=False would load nothing and train on silently
    result = run_script('fcn', '--smoke', '--pretrain', weight_files['mmseg_mit_b0'], '--work-dir', tmp_path / 'w')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'pretrained: loaded 0/265 backbone tensors' in result.stderr and '--no-pretrain' in result.stderr
    assert not os.path.exists(tmp_path / 'w' / 'iter_4.pth')


def test_training_logs_what_it_loaded(weight_files, tiny_ade, tmp_path):
    result = run_script('fcn', '--smoke', '--iters', 1, '--pretrain', weight_files['torchvision_resnet50'],
                        '--work-dir', tmp_path / 'w')
    assert result.returncode == 0, result.stderr[-3000:]
    assert _loaded_line(result) == (265, 265)


def test_missing_seed_file_names_the_download(tmp_path):
    result = run_script('swin', '--check-pretrain', '--pretrain', tmp_path / 'swin_base_patch4_window12_384_22k.pth')
    assert result.returncode == 2 and 'not found' in result.stderr


def test_models_without_a_seed_file_say_where_to_get_theirs():
    result = run_script('twins', '--check-pretrain')
    assert result.returncode == 2
    assert 'wget https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_small_20220308-e638c41c.pth' \
        in result.stderr and '--no-pretrain' in result.stderr


# ---- the conversions themselves, tensor by tensor and output by output --------------------------
def test_swin_conversion_keeps_every_tensor(weight_files):
    from training.pretrained import _swin_official_to_mmseg
    official = torch.load(weight_files['official_swin_base_384_22k'])['model']
    converted = _swin_official_to_mmseg(official)
    for key, value in official.items():
        if key.startswith('head'):
            continue
        mmseg_key = (key.replace('layers', 'stages', 1).replace('attn.', 'attn.w_msa.')
                     .replace('mlp.fc1.', 'ffn.layers.0.0.').replace('mlp.fc2.', 'ffn.layers.1.')
                     .replace('patch_embed.proj', 'patch_embed.projection'))
        got = converted[mmseg_key]
        if 'downsample' in key:  # reordered from concat order to nn.Unfold's: same values, permuted
            assert sorted(got.flatten().tolist()) == sorted(value.flatten().tolist())
        else:
            assert torch.equal(got, value), key
    assert len(converted) == len([k for k in official if not k.startswith('head')])


def test_vit_conversion_keeps_every_tensor(weight_files):
    from training.pretrained import _timm_vit_to_mmseg
    timm_state = torch.load(weight_files['timm_vit_base_384'])
    converted = _timm_vit_to_mmseg(timm_state)
    assert len(converted) == len([k for k in timm_state if not k.startswith('head')])
    assert torch.equal(converted['layers.3.attn.attn.in_proj_weight'], timm_state['blocks.3.attn.qkv.weight'])
    assert torch.equal(converted['ln1.weight'], timm_state['norm.weight'])
    assert {id(v) for v in converted.values()} <= {id(v) for v in timm_state.values()}  # renamed, not changed


def _backbone(model, weight_file, **overrides):
    from mmengine.config import Config
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    from training.pretrained import prepare_for
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO, 'configs', f'{model}.py'))
    cfg.model.backbone.update(overrides)
    source = prepare_for(cfg, model, weight_file)  # verifies, converts, points the config at it
    backbone = MODELS.build(cfg.model.backbone)
    if cfg.model.get('pretrained'):  # EncoderDecoder hands model.pretrained to its backbone
        backbone.init_cfg = dict(type='Pretrained', checkpoint=cfg.model.pretrained)
    backbone.init_weights()
    backbone.eval()  # (MMSeg's ResNet.train() returns None, so no chaining)
    return backbone, source


def test_resnet50_features_equal_torchvision(weight_files):
    import torchvision
    backbone, _ = _backbone('fcn', weight_files['torchvision_resnet50'])
    reference = torchvision.models.resnet50(replace_stride_with_dilation=[False, True, True])
    reference.load_state_dict(torch.load(weight_files['torchvision_resnet50']))
    reference.eval()
    image = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        ours = backbone(image)
        x = reference.maxpool(reference.relu(reference.bn1(reference.conv1(image))))
        theirs = []
        for layer in (reference.layer1, reference.layer2, reference.layer3, reference.layer4):
            x = layer(x)
            theirs.append(x)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_vit_features_equal_timm(weight_files):
    import timm
    # at the file's own 384 resolution no position-embedding resize happens; last layer, final norm
    backbone, _ = _backbone('segmenter', weight_files['timm_vit_base_384'], img_size=(384, 384), out_indices=11,
                            final_norm=True)
    reference = timm.create_model('vit_base_patch16_384')
    reference.load_state_dict(torch.load(weight_files['timm_vit_base_384']))
    reference.eval()
    image = torch.randn(1, 3, 384, 384)
    with torch.no_grad():
        ours = backbone(image)[0]                                        # (1, 768, 24, 24)
        tokens = reference.forward_features(image)[:, 1:]                # drop the class token
        theirs = tokens.transpose(1, 2).reshape(1, 768, 24, 24)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
