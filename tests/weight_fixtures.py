"""Weight files in the five seed files' layouts, built from the real libraries' own model definitions
with random weights (no network). Each is saved under a name whose hash prefix is its true SHA-256,
as the real files are."""
import os
import re

import torch

from training.pretrained import sha256_of

SEED_FILES = ['torchvision_resnet50', 'official_swin_base_384_22k', 'timm_vit_base_384', 'mmseg_mit_b0',
              'mmpretrain_poolformer_s12']  # the functions below, one per seed file of the README


def save_as_release(state, directory, stem):
    """Saves `state` as <directory>/<stem>-<first 8 hex of its SHA-256>.pth, the release convention."""
    scratch = os.path.join(directory, f'{stem}.scratch')
    torch.save(state, scratch)
    path = os.path.join(directory, f'{stem}-{sha256_of(scratch)[:8]}.pth')
    os.replace(scratch, path)
    return path


def torchvision_resnet50(directory):
    """torchvision's ResNet-50, as resnet50-11ad3fa6.pth is (a plain state dict, keys conv1/bn1/layerN/fc)."""
    import torchvision
    torch.manual_seed(0)
    return save_as_release(torchvision.models.resnet50().state_dict(), directory, 'resnet50')


def timm_vit_base_384(directory):
    """timm's vit_base_patch16_384, as jx_vit_base_p16_384-83fb41ba.pth is (timm's key layout)."""
    import timm
    torch.manual_seed(0)
    return save_as_release(timm.create_model('vit_base_patch16_384').state_dict(), directory, 'jx_vit_base_p16_384')


def official_swin_base_384_22k(directory):
    """The Swin authors' layout of swin_base_patch4_window12_384_22k.pth, rebuilt from timm's Swin-B.

    timm loads the official files through its checkpoint_filter_fn, which (1) moves each stage's
    PatchMerging from the end of stage i to the start of stage i+1 and (2) renames head.* to
    head.fc.*; the official files also carry the relative_position_index and attn_mask buffers
    (persistent in the authors' code) inside {'model': ...}. We undo (1) and (2) and add the buffers.
    """
    import timm
    torch.manual_seed(0)
    model = timm.create_model('swin_base_patch4_window12_384', num_classes=21841)
    state = {}
    for key, value in list(model.state_dict().items()) + [
            (k, v) for k, v in model.named_buffers() if k.endswith(('relative_position_index', 'attn_mask'))]:
        key = re.sub(r'^layers\.(\d+)\.downsample', lambda m: f'layers.{int(m.group(1)) - 1}.downsample', key)
        state[key.replace('head.fc.', 'head.')] = value
    path = os.path.join(directory, 'swin_base_patch4_window12_384_22k.pth')
    torch.save({'model': state}, path)
    return path


def mmseg_mit_b0(directory):
    """MMSeg's MixVisionTransformer-B0, as mit_b0_20220624-7e0fe6dd.pth is (MMSeg's layout)."""
    from mmseg.models.backbones import MixVisionTransformer
    torch.manual_seed(0)
    backbone = MixVisionTransformer(in_channels=3, embed_dims=32, num_stages=4, num_layers=[2, 2, 2, 2],
                                    num_heads=[1, 2, 5, 8], patch_sizes=[7, 3, 3, 3], sr_ratios=[8, 4, 2, 1])
    return save_as_release({'state_dict': backbone.state_dict()}, directory, 'mit_b0_20220624')


def mmpretrain_poolformer_s12(directory):
    """An MMPretrain PoolFormer-S12 ImageNet classifier checkpoint (keys backbone.* and head.*)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.models import build_classifier
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # whatever scope an earlier test left behind
        classifier = build_classifier(dict(
            type='ImageClassifier', backbone=dict(type='PoolFormer', arch='s12'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=512)))
    return save_as_release({'meta': {'mmpretrain_version': '1.2.0'}, 'state_dict': classifier.state_dict()},
                           directory, 'poolformer_s12_8xb256_in1k_20221230')
