"""MaskFormer R-50-D32 (needs mmdet) on ADE20K.

Paper:    Cheng, Schwing, Kirillov. Per-Pixel Classification is Not All You Need for Semantic
          Segmentation. NeurIPS 2021.
Official: mmseg maskformer/maskformer_r50-d32_8xb2-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 2 = 16, mIoU 44.29 (single scale).
Model:    configs/maskformer.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own torchvision ResNet-50, read from
            pretrain/resnet50-11ad3fa6.pth.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
