"""SeMask-B FPN on ADE20K (the project's own port: training/models/semask.py).

Paper:    Jain, Singh, Orlov, Huang, Li, Walton, Shi. SeMask: Semantically Masked Transformers for
          Semantic Segmentation. ICCVW 2023 (arXiv 2112.12782).
Official: Picsart-AI-Research/SeMask-Segmentation SeMask-FPN/configs/semask_swin/ade20k/
          semfpn_semask_swin_base_patch4_window12_512x512_80k_ade20k.py (MMSeg 0.11; MMSeg 1.x has no
          SeMask), 80k iterations, 2 GPUs x 8 = 16 images per step, mIoU 49.35 single scale / 50.98
          multi-scale, 96M parameters.
Differs:  - batch: 2 per GPU (the protocol); --total-batch 16 accumulates gradients to the official 16;
          - module names: MMSeg's Swin (the Swin release is converted once by training/pretrained.py).
"""
from common import BATCH_SIZE_PER_GPU, CROP_SIZE, apply_protocol, load_config, train

OFFICIAL = dict(config='Picsart-AI-Research/SeMask-Segmentation:SeMask-FPN/configs/semask_swin/ade20k/'
                       'semfpn_semask_swin_base_patch4_window12_512x512_80k_ade20k.py',
                iters=80_000, total_batch=16, miou=49.35)  # single-scale mIoU, ADE20K val

# ---- knobs: edit them to tweak this model (command-line flags still win) ---------------------
crop_size = CROP_SIZE            # (512, 512); the resize scales and the test pipeline follow it
batch_size = BATCH_SIZE_PER_GPU  # images per GPU
max_iters = OFFICIAL['iters']    # the LR schedule stretches with it


def config():
    cfg = load_config('configs/sem_fpn.py')  # the official recipe, ported (see that file)
    apply_protocol(cfg, crop_size, batch_size, max_iters)
    # any config key, after the protocol; the ones most often changed for this model:
    # cfg.model.backbone.drop_path_rate = 0.2              # recipe: 0.3
    # cfg.model.decode_head.cate_weight = 0.2              # recipe: 0.4
    # cfg.optim_wrapper.optimizer.lr = 5e-05               # recipe: 0.0001
    return cfg


if __name__ == '__main__':
    train(config, OFFICIAL)
