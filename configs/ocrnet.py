# OCRNet HRNetV2p-W18, ADE20K 512x512, 80k: the official MMSeg recipe. Its ImageNet weights
# (open-mmlab://msra/hrnetv2_w18) are read from pretrain/ under their release file name.
_base_ = 'mmseg::ocrnet/ocrnet_hr18_4xb4-80k_ade20k-512x512.py'
model = dict(pretrained='pretrain/hrnetv2_w18-00eb2006.pth')
