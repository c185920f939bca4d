# SeMask-B FPN, ADE20K 512x512, 80k: the official recipe of SeMask (Picsart-AI-Research/SeMask-Segmentation,
# SeMask-FPN/configs/semask_swin/ade20k/semfpn_semask_swin_base_patch4_window12_512x512_80k_ade20k.py), ported
# to MMSeg 1.x with the project's own modules (training/models/semask.py): MMSeg's Swin-B with a semantic layer
# per stage, MMSeg's Semantic-FPN head plus the semantic branch. Weights: the Swin authors' Swin-B 22k 384
# release, converted to MMSeg's Swin names once (training/pretrained.py).
_base_ = ['mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py',
          'mmseg::_base_/schedules/schedule_80k.py']
custom_imports = dict(imports=['training.models.semask'], allow_failed_imports=False)
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SeMaskSwinTransformer', num_classes=150, sem_window_size=12, pretrain_img_size=384, embed_dims=128,
        patch_size=4, window_size=12, mlp_ratio=4, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
        strides=(4, 2, 2, 2), out_indices=(0, 1, 2, 3), qkv_bias=True, qk_scale=None, patch_norm=True,
        drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.3, use_abs_pos_embed=False,
        act_cfg=dict(type='GELU'), norm_cfg=dict(type='LN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/swin_base_patch4_window12_384_22k.pth')),
    decode_head=dict(
        type='SeMaskFPNHead', in_channels=[128, 256, 512, 1024], in_index=[0, 1, 2, 3], feature_strides=[4, 8, 16, 32],
        channels=256, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False, cate_weight=0.4,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# SeMask's data: the resize ratio drawn from a discrete list (its patched Resize), no category cap on the crop
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomChoiceResize', scales=[(int(2048 * r), int(512 * r)) for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)],
         resize_type='Resize', keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# AdamW 1e-4, wd 1e-4; no weight decay on the position tables and any norm (substring match, as the official)
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'absolute_pos_embed': dict(decay_mult=0.0),
                                    'relative_position_bias_table': dict(decay_mult=0.0),
                                    'norm': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, begin=1500, end=80000, by_epoch=False),
]
