"""OCRNet HRNetV2p-W18 on ADE20K.

Paper:    Yuan, Chen, Wang. Object-Contextual Representations for Semantic Segmentation. ECCV 2020.
Official: mmseg ocrnet/ocrnet_hr18_4xb4-80k_ade20k-512x512.py
          80k iterations, total batch 4 GPUs x 4 = 16, mIoU 37.79 (single scale).
Model:    configs/ocrnet.py (edit it to change the model, the optimizer or the schedule).
Differs:  - batch per GPU, validation and checkpoints: the protocol in common.py;
          - weights: the recipe's own HRNetV2-W18 ImageNet file, read from pretrain/ (not one of the
            five seed files: download it, or --no-pretrain).
"""
from common import train

if __name__ == '__main__':
    train(__file__)
