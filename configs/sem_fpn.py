# Semantic FPN R-50, 160k, ADE20K 512x512: the official MMSeg recipe with torchvision ResNet-50 weights from pretrain/
# on MMSeg's type='ResNet' (7x7 stem, as in its r50b recipes) instead of ResNetV1c + open-mmlab
# weights, which the collection does not ship (see configs/fcn.py).
_base_ = 'mmseg::sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet50-11ad3fa6.pth')))
