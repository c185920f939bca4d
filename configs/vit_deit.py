# ViT-Adapter-B + UperNet, ADE20K 512x512, 160k: the official AugReg-B recipe of ViT-Adapter
# (czczup/ViT-Adapter, segmentation/configs/ade20k/upernet_augreg_adapter_base_512_160k_ade20k.py), ported to
# MMSeg 1.x with the project's own ViTAdapter module (training/models/vit_adapter.py). Of the two official
# ViT-Adapter-B recipes it is the one that fits pretrain/jx_vit_base_p16_384-83fb41ba.pth: the same ViT-B/16 at
# 384 pretraining, IN-21k -> IN-1k, normalised with mean = std = 127.5 (the DeiT recipe assumes 224 weights,
# ImageNet mean/std and layer-wise LR decay). The 24x24 position table is resized to the 32x32 grid once.
_base_ = ['mmseg::_base_/datasets/ade20k.py', 'mmseg::_base_/default_runtime.py',
          'mmseg::_base_/schedules/schedule_160k.py']
custom_imports = dict(imports=['training.models.vit_adapter'], allow_failed_imports=False)
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(type='SegDataPreProcessor', mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],
                         bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ViTAdapter', img_size=512, patch_size=16, embed_dims=768, num_layers=12, num_heads=12, mlp_ratio=4,
        drop_path_rate=0.3, layer_scale=True, conv_inplane=64, n_points=4, deform_num_heads=12, deform_ratio=0.5,
        cffn_ratio=0.25, init_values=0.0, interaction_indexes=[[0, 2], [3, 5], [6, 8], [9, 11]],
        extra_extractors=2, norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint='pretrain/jx_vit_base_p16_384-83fb41ba.pth')),
    decode_head=dict(
        type='UPerHead', in_channels=[768, 768, 768, 768], in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6),
        channels=512, dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=768, in_index=2, channels=256, num_convs=1, concat_input=False,
        dropout_ratio=0.1, num_classes=150, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='slide', crop_size=(512, 512), stride=(341, 341)))
# the official test resizes to a multiple of 32 (the adapter's maps need it)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='ResizeToMultiple', size_divisor=32),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# AdamW 2e-5, wd 0.01; MMEngine applies the first matching key, longest first (as MMCV did for the official
# code): every bias, the norms, pos_embed and level_embed without weight decay; head weights at 10x the LR.
# 'ln1'/'ln2' are the ViT's LayerNorms (timm calls them norm1/norm2, which the official 'norm' key matched).
optim_wrapper = dict(
    _delete_=True, type='AmpOptimWrapper', loss_scale=dict(init_scale=512),
    optimizer=dict(type='AdamW', lr=2e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'level_embed': dict(decay_mult=0.0), 'pos_embed': dict(decay_mult=0.0), 'norm': dict(decay_mult=0.0),
        'ln1': dict(decay_mult=0.0), 'ln2': dict(decay_mult=0.0), 'bias': dict(decay_mult=0.0),
        'head': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, begin=1500, end=160000, by_epoch=False),
]
