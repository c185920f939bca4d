"""K-Net (FCN) R-50-D8 on ADE20K.

Paper:    Zhang, Pang, Chen, Loy. K-Net: Towards Unified Image Segmentation. NeurIPS 2021.
Official: mmseg knet/knet-s3_r50-d8_fcn_8xb2-adamw-80k_ade20k-512x512.py
          80k iterations, total batch 8 GPUs x 2 = 16, mIoU 43.60 (single scale).
Model:    configs/knet.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
