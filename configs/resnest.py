# ResNeSt-S101-D8 FCN, ADE20K 512x512, 160k: the official MMSeg recipe. Its ImageNet weights
# (open-mmlab://resnest101) are read from pretrain/ under their release file name.
_base_ = 'mmseg::resnest/resnest_s101-d8_fcn_4xb4-160k_ade20k-512x512.py'
model = dict(pretrained='pretrain/resnest101_d2-f3b931b2.pth')
