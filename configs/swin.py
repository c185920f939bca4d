# Swin-B (window 12, ImageNet-22k, 384) + UPerNet, ADE20K 512x512, 160k: the official MMSeg recipe,
# loading the Swin authors' release from pretrain/.
_base_ = 'mmseg::swin/swin-base-patch4-window12-in22k-384x384-pre_upernet_8xb2-160k_ade20k-512x512.py'
model = dict(
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/swin_base_patch4_window12_384_22k.pth')))
