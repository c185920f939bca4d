"""The data-pipeline benchmark (--data-pipeline): images/s of the ADE20K train pipeline in one loader worker, with and
without the per-sample seeding of reproducibility.py, and the workers that makes for a step time."""
import time

from .. import speed
from ..config import crop_size_of, data_root_of
from ..experiments import load_script
from ..reproducibility import SeededSamples
from .ade_size import ade_size_data
from .training_speed import our_config


def data_pipeline(args, samples=60):
    """Images/s of the train pipeline (decode, resize, crop, flip, photometric) in one process, as in one
    data loader worker (1 thread), as training draws them (each sample's augmentation seeded by its position:
    reproducibility.SeededSamples) and without that seeding, alternating rounds of the two. On ADE-size images: the
    real data if present, else tiny-subset images enlarged to 683x512 (ADE20K's typical size)."""
    import cv2
    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    protocol_root = data_root_of(load_script('fcn').config())
    root = ade_size_data(protocol_root)
    cfg = our_config('fcn', args, 100)
    init_default_scope('mmseg')
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.data_root = root
    dataset = DATASETS.build(dataset_cfg)
    seeded = SeededSamples(dataset, seed=0)
    for index in range(3):  # warm-up
        dataset[index % len(dataset)]
    seconds = {'plain': 0.0, 'seeded': 0.0}
    for round_ in range(args.repeat * 2):  # alternating, so a drifting machine affects both alike
        kind = ('plain', 'seeded')[round_ % 2]
        start = time.perf_counter()
        for index in range(samples):
            position = round_ * samples + index
            key = (position, position % len(dataset)) if kind == 'seeded' else position % len(dataset)
            (seeded if kind == 'seeded' else dataset)[key]
        seconds[kind] += time.perf_counter() - start
    per_worker = {kind: samples * args.repeat / spent for kind, spent in seconds.items()}
    batch = cfg.train_dataloader.batch_size
    return dict(benchmark='data pipeline', data=root if root == protocol_root else 'tiny subset enlarged to 683x512',
                crop=list(crop_size_of(cfg)), images_per_s_per_worker=round(per_worker['seeded'], 1),
                images_per_s_per_worker_unseeded=round(per_worker['plain'], 1),
                seeding_cost_percent=round(100 * (per_worker['plain'] / per_worker['seeded'] - 1), 2),
                default_workers=speed.loader_workers(),
                workers_for_batch2_at_100ms=int(np.ceil(batch / 0.1 / per_worker['seeded'])),
                workers_for_batch2_at_50ms=int(np.ceil(batch / 0.05 / per_worker['seeded'])))

