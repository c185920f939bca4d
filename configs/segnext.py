# SegNeXt MSCAN-T, ADE20K 512x512, 160k: the official MMSeg recipe, MSCAN-T weights read from pretrain/.
_base_ = 'mmseg::segnext/segnext_mscan-t_1xb16-adamw-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/mscan_t_20230227-119e8c9f.pth')))
