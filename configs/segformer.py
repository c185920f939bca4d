# SegFormer MiT-B0, ADE20K 512x512, 160k: the official MMSeg recipe, loading the MiT-B0 weights
# from pretrain/ (the same file the recipe downloads, already in MMSeg's layout).
_base_ = 'mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/mit_b0_20220624-7e0fe6dd.pth')))
