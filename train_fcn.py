"""FCN R50-D8 on ADE20K.

Paper:    Long, Shelhamer, Darrell. Fully Convolutional Networks for Semantic Segmentation. CVPR
          2015.
Official: mmseg fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py
          80k iterations, total batch 4 GPUs x 4 = 16, mIoU 35.94 (single scale).
Model:    configs/fcn.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
