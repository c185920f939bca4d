# Mask2Former R50, ADE20K 512x512, 160k: the official MMSeg recipe (needs mmdet). Its backbone is
# already type='ResNet' with torchvision weights; here they come from pretrain/ instead of the web.
_base_ = 'mmseg::mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py'
model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet50-11ad3fa6.pth')))
