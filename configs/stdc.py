# STDC1, ADE20K 512x512, 80k. NOT an official recipe and no reference mIoU: MMSeg has STDC for
# Cityscapes only (stdc/stdc1_4xb12-80k_cityscapes-512x1024.py). Adapted here: ADE20K's data
# pipeline, 512x512 crops and 150 classes on the decode head and the two FCN auxiliary heads; the
# STDCHead auxiliary head predicts binary boundaries and keeps 2 classes. Schedule and optimizer are
# the Cityscapes recipe's (80k, SGD 0.01, 1k warm-up). Like that recipe it trains from scratch.
_base_ = ['mmseg::_base_/models/stdc.py', 'mmseg::_base_/datasets/ade20k.py',
          'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py']
crop_size = (512, 512)
norm_cfg = dict(type='BN', requires_grad=True)
ohem = dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10000)
fcn_aux_head = dict(type='FCNHead', in_channels=128, channels=64, num_convs=1, num_classes=150, norm_cfg=norm_cfg,
                    concat_input=False, align_corners=False, sampler=ohem,
                    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=150),
    auxiliary_head=[
        dict(fcn_aux_head, in_index=2),
        dict(fcn_aux_head, in_index=1),
        dict(type='STDCHead', in_channels=256, channels=64, num_convs=1, num_classes=2, boundary_threshold=0.1,
             in_index=0, norm_cfg=norm_cfg, concat_input=False, align_corners=True,
             loss_decode=[dict(type='CrossEntropyLoss', loss_name='loss_ce', use_sigmoid=True, loss_weight=1.0),
                          dict(type='DiceLoss', loss_name='loss_dice', loss_weight=1.0)]),
    ])
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=1000, end=80000, by_epoch=False),
]
