# DeepLabV3+ R50-D8, ADE20K 512x512, 80k: the official MMSeg recipe with torchvision ResNet-50
# weights (type='ResNet', as in MMSeg's r50b recipes; see configs/fcn.py).
_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-80k_ade20k-512x512.py'
model = dict(
    pretrained=None,
    backbone=dict(type='ResNet', init_cfg=dict(type='Pretrained', checkpoint='pretrain/resnet50-11ad3fa6.pth')))
