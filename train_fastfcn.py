"""FastFCN JPU + EncHead R-50-D32 on ADE20K.

Paper:    Wu, Zhang, Huang, Liang, Yu. FastFCN: Rethinking Dilated Convolution in the Backbone for
          Semantic Segmentation. arXiv 2019.
Official: mmseg fastfcn/fastfcn_r50-d32_jpu_enc_4xb4-80k_ade20k-512x512.py
          80k iterations, total batch 4 GPUs x 4 = 16, mIoU 40.88 (single scale).
Model:    configs/fastfcn.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
