# Twins PCPVT-S + UPerNet, ADE20K 512x512, 160k: the official MMSeg recipe, PCPVT-S weights read from pretrain/.
_base_ = 'mmseg::twins/twins_pcpvt-s_uperhead_8xb4-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/pcpvt_small_20220308-e638c41c.pth')))
