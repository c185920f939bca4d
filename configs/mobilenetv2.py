# MobileNetV2-D8 + DeepLabV3+, ADE20K 512x512, 160k: the official MMSeg recipe. Its ImageNet weights
# (mmcls://mobilenet_v2) are read from pretrain/ under their release file name.
_base_ = 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py'
model = dict(pretrained='pretrain/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth')
