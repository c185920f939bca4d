"""PointRend R-50 FPN on ADE20K.

Paper:    Kirillov, Wu, He, Girshick. PointRend: Image Segmentation as Rendering. CVPR 2020.
Official: mmseg point_rend/pointrend_r50_4xb4-160k_ade20k-512x512.py
          160k iterations, total batch 4 GPUs x 4 = 16, mIoU 37.64 (single scale).
Model:    configs/pointrend.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
