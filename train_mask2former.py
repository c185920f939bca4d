"""Mask2Former R50 (needs mmdet) on ADE20K.

Paper:    Cheng, Misra, Schwing, Kirillov, Girdhar. Masked-attention Mask Transformer for Universal
          Image Segmentation. CVPR 2022.
Official: mmseg mask2former/mask2former_r50_8xb2-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 2 = 16, mIoU 47.87 (single scale).
Model:    configs/mask2former.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own torchvision ResNet-50, read from
            pretrain/resnet50-11ad3fa6.pth.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
