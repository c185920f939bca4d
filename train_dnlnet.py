"""DNLNet R-50-D8 on ADE20K.

Paper:    Yin, Yao, Cao, Li, Zhang, Lin, Hu. Disentangled Non-Local Neural Networks. ECCV 2020.
Official: mmseg dnlnet/dnl_r50-d8_4xb4-80k_ade20k-512x512.py
          80k iterations, total batch 4 GPUs x 4 = 16, mIoU 41.76 (single scale).
Model:    configs/dnlnet.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - backbone: torchvision ResNet-50 (pretrain/resnet50-11ad3fa6.pth) on type='ResNet'
            instead of ResNetV1c with open-mmlab weights (why: configs/fcn.py); expect a small mIoU
            difference.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
