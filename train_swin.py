"""Swin-B (window 12, ImageNet-22k pre-training at 384) + UPerNet on ADE20K.

Paper:    Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo. Swin Transformer: Hierarchical Vision Transformer
          using Shifted Windows. ICCV 2021.
Official: mmseg swin/swin-base-patch4-window12-in22k-384x384-pre_upernet_8xb2-160k_ade20k-512x512.py
          160k iterations, total batch 8 GPUs x 2 = 16, mIoU 50.76 (single scale).
Model:    configs/swin.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the Swin authors' release pretrain/swin_base_patch4_window12_384_22k.pth
            instead of MMSeg's converted copy of it.
"""
from common import train

if __name__ == '__main__':
    train(__file__)
