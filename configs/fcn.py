# FCN R50-D8, ADE20K 512x512, 80k: the official MMSeg recipe, with the backbone MMSeg uses for
# torchvision weights (type='ResNet', plain 7x7 stem, as in its fcn_r50b-d8 recipes) so that
# pretrain/resnet50-11ad3fa6.pth fits key for key. The official ResNetV1c (deep stem) has no such file.
_base_ = 'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet50-11ad3fa6.pth')))
