"""The shared training protocol of every train_<name>.py: its values, and the function that applies them.

A script reads top to bottom as what it does:

    cfg = load_config('configs/fcn.py')     # the model's MMSeg config (it inherits the official recipe)
    apply_protocol(cfg, crop_size, batch_size, max_iters)   # this file: data, crop, batch, validation...
    cfg.model.decode_head.channels = 256    # the script's own knobs, any config key
    train(config, OFFICIAL)                 # command line, checks, resume, Runner.train()

Precedence, later wins: official recipe < configs/<model>.py < protocol < the script's knobs < command-line
flags < --cfg-options. `python train_<name>.py --print-config` shows the result. The machinery behind
train() lives in the training/ package.
"""
from training.config import load_config, set_crop_size, set_data_root, set_schedule_length
from training.paths import DATA_ROOT, WORK_DIR  # data/ade/ADEChallengeData2016, work_dirs/{name}_ade20k
from training.runner import train

__all__ = ['BATCH_SIZE_PER_GPU', 'CROP_SIZE', 'apply_protocol', 'load_config', 'train']

CROP_SIZE = (512, 512)                 # resize scales, the sliding window and the test pipeline follow it
BATCH_SIZE_PER_GPU = 2
VAL_INTERVAL = 4000                    # iterations between validations (and checkpoints)
KEEP_LAST_CHECKPOINTS = 3              # plus the best-mIoU one, which is kept apart
# iterations: the official recipe's (80k or 160k), each script's OFFICIAL['iters']


def apply_protocol(cfg, crop_size=CROP_SIZE, batch_size=BATCH_SIZE_PER_GPU, max_iters=None):
    """The protocol on `cfg`, with the crop, batch per GPU and length a script chose (the protocol's by default)."""
    set_data_root(cfg, DATA_ROOT)
    set_crop_size(cfg, crop_size)
    cfg.train_dataloader.batch_size = batch_size
    if max_iters:
        set_schedule_length(cfg, max_iters)
    cfg.train_cfg.val_interval = VAL_INTERVAL
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=VAL_INTERVAL,
                                        max_keep_ckpts=KEEP_LAST_CHECKPOINTS, save_best='mIoU', rule='greater')
    cfg.work_dir = WORK_DIR
    return cfg
