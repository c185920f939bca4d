# ViT-B/16 + MLN + UPerNet, ADE20K 512x512, 80k: MMSeg's ViT recipe (MMSeg has no ViT-Adapter),
# initialised from the timm ViT-B/16 (384) release in pretrain/ instead of the recipe's 224 one.
_base_ = 'mmseg::vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py'
# patch_bias=True: timm's ViT has a bias in its patch embedding; MMSeg 1.x's VisionTransformer defaults
# to patch_bias=False and would drop it silently (strict=False loading).
model = dict(pretrained='pretrain/jx_vit_base_p16_384-83fb41ba.pth', backbone=dict(patch_bias=True))
