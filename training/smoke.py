"""--smoke: a few iterations on the generated tiny subset, CPU-friendly, whatever the script sets."""
from .config import crop_size_of, set_crop_size, set_data_root, set_schedule_length
from .data.tiny_ade import DEFAULT_OUT
from .paths import SMOKE_WORK_DIR, work_dir_for

SMOKE_DATA_ROOT = DEFAULT_OUT  # the generated tiny subset
SMOKE_SCALE = 1 / 8           # the crop and every resize: 512 -> 64, a script's 640 -> 80
SMOKE_ITERS = 4


def apply_smoke(cfg, name, iters=None):
    set_data_root(cfg, SMOKE_DATA_ROOT)
    set_crop_size(cfg, [max(16, round(c * SMOKE_SCALE)) for c in crop_size_of(cfg)])
    set_schedule_length(cfg, iters or SMOKE_ITERS)
    cfg.work_dir = work_dir_for(SMOKE_WORK_DIR, name)
    cfg.default_hooks.logger.interval = 1
