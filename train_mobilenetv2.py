"""MobileNetV2-D8 + DeepLabV3+ on ADE20K.

Paper:    Sandler, Howard, Zhu, Zhmoginov, Chen. MobileNetV2: Inverted Residuals and Linear
          Bottlenecks. CVPR 2018.
Official: mmseg mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py
          160k iterations, total batch 4 GPUs x 4 = 16, mIoU 34.02 (single scale).
Model:    configs/mobilenetv2.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own ImageNet MobileNetV2 file, read from pretrain/ (not one of the
            five seed files: download it, or --no-pretrain).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
