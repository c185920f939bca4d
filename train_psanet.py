"""PSANet R-50-D8 (needs MMCV's compiled PSAMask op) on ADE20K.

Paper:    Zhao, Zhang, Liu, Shi, Loy, Lin, Jia. PSANet: Point-wise Spatial Attention Network for
          Scene Parsing. ECCV 2018.
Official: mmseg psanet/psanet_r50-d8_4xb4-80k_ade20k-512x512.py
          80k iterations, total batch 4 GPUs x 4 = 16, mIoU 41.14 (single scale).
Model:    configs/psanet.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
