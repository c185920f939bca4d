# SETR-Naive ViT-L/16, ADE20K 512x512, 160k: the official MMSeg recipe, initialised from the timm
# ViT-L/16 (384) release in pretrain/ (the recipe's vit_large_p16.pth is MMSeg's conversion of it).
_base_ = 'mmseg::setr/setr_vit-l_naive_8xb2-160k_ade20k-512x512.py'
# patch_bias=True: timm's ViT has a bias in its patch embedding; MMSeg 1.x's VisionTransformer defaults
# to patch_bias=False and would drop it silently (strict=False loading).
model = dict(backbone=dict(
    patch_bias=True,
    init_cfg=dict(type='Pretrained', checkpoint='pretrain/jx_vit_large_p16_384-b3be5167.pth')))
