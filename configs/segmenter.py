# Segmenter ViT-B/16 mask transformer, ADE20K 512x512, 160k: the official MMSeg recipe, initialised
# from the timm ViT-B/16 (384) release in pretrain/ (the recipe's own file is MMSeg's conversion of it).
_base_ = 'mmseg::segmenter/segmenter_vit-b_mask_8xb1-160k_ade20k-512x512.py'
# patch_bias=True: timm's ViT has a bias in its patch embedding; MMSeg 1.x's VisionTransformer defaults
# to patch_bias=False and would drop it silently (strict=False loading).
model = dict(pretrained='pretrain/jx_vit_base_p16_384-83fb41ba.pth', backbone=dict(patch_bias=True))
