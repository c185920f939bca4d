"""Semantic FPN R-50 on ADE20K.

Paper:    Kirillov, Girshick, He, Dollar. Panoptic Feature Pyramid Networks. CVPR 2019.
Official: mmseg sem_fpn/fpn_r50_4xb4-160k_ade20k-512x512.py
          160k iterations, total batch 4 GPUs x 4 = 16, mIoU 37.49 (single scale).
Model:    configs/sem_fpn.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - name: the original description labels this row "SeMask"; MMSeg has no SeMask, and its
            sem_fpn recipe is Semantic FPN.
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
