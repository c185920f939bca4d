"""Loading a model's MMSeg config and the edits the protocol, the scripts and the command line make to it.

After `Config.fromfile`, MMSeg's top-level `crop_size`, `data_root` and `*_pipeline` are dead copies of what
the data loaders and the model read. The functions here edit the real keys and keep the copies truthful:
`load_config` makes each loader's pipeline share its step dicts with the top-level pipeline, so an edit of a
step (`cfg.train_pipeline[2].crop_size = ...`) reaches both, and `sync_pipelines` settles a list that was
replaced or restructured on one side only.
"""
import os
import weakref

from .errors import UserError
from .paths import REPO_ROOT
SIZE_KEYS = ('scale', 'scales', 'max_size', 'img_scale')  # pipeline keys holding image sizes
PIPELINE_LOADERS = {'train_pipeline': ('train_dataloader',),  # top-level pipeline -> the loaders built from it
                    'test_pipeline': ('val_dataloader', 'test_dataloader')}
_linked_steps = weakref.WeakKeyDictionary()  # cfg -> {top-level pipeline name: the step dicts shared at linking}


def load_config(path):
    """The MMSeg config at `path` (relative to the repository), with its pipelines linked (see above)."""
    from mmengine.config import Config
    config_file = path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)
    if not os.path.isfile(config_file):
        raise UserError(f'{config_file} is missing: the script loads its model from it. Restore it (git checkout '
                        f'-- {path}) or point the script at another file in configs/.')
    cfg = Config.fromfile(config_file)
    _link_pipelines(cfg)
    return cfg


# ---- walking the config ----------------------------------------------------------------------
def walk_dicts(node):
    """Every dict inside a config node (dicts and lists, recursively), the node itself included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk_dicts(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from walk_dicts(value)


def innermost_dataset(loader):
    """The dataset dict of a data loader, through RepeatDataset & co."""
    dataset = loader.dataset
    while 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset


def datasets(cfg):
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        yield innermost_dataset(cfg[loader])


def _unique_steps(cfg):
    """Every pipeline step dict of the config once (top-level and loader pipelines share them)."""
    seen = set()
    pipelines = [cfg.get(name) or [] for name in PIPELINE_LOADERS] + [d.pipeline for d in datasets(cfg)]
    for pipeline in pipelines:
        for step in walk_dicts(pipeline):
            if id(step) not in seen:
                seen.add(id(step))
                yield step


# ---- the top-level pipelines and the loaders' pipelines ------------------------------------------
def _without_scope(pipeline):
    """A pipeline's steps without the `_scope_` key MMEngine adds to the top-level copies of an `mmseg::` base."""
    return [{k: v for k, v in step.items() if k != '_scope_'} for step in pipeline]


def _link_pipelines(cfg):
    """Makes the top-level pipeline and each loader's pipeline lists of the same step dicts (the first loader's)
    where they are equal."""
    linked = {}
    for name, loaders in PIPELINE_LOADERS.items():
        steps = innermost_dataset(cfg[loaders[0]]).pipeline
        for loader in loaders[1:]:
            dataset = innermost_dataset(cfg[loader])
            if dataset.pipeline == steps:
                dataset.pipeline = steps  # a new list (ConfigDict copies lists) holding the same step dicts
        if cfg.get(name) is not None and _without_scope(cfg[name]) == _without_scope(steps):
            cfg[name] = steps
            linked[name] = list(steps)
    _linked_steps[cfg] = linked


def _restructured(pipeline, steps):
    return [id(step) for step in pipeline] != [id(step) for step in steps]


def sync_pipelines(cfg):
    """Brings the top-level pipelines and the loaders' pipelines back in step after an edit.

    A top-level pipeline replaced or restructured while its loaders' were not is adopted by the loaders (the
    edit was meant for them); otherwise the loaders' pipelines are what runs, and the top-level copies follow
    them (MMSeg's inference_model reads cfg.test_pipeline; it must be the pipeline the run validated with).
    """
    linked = _linked_steps.get(cfg, {})
    for name, loaders in PIPELINE_LOADERS.items():
        if cfg.get(name) is None:
            continue
        loader_sets = [innermost_dataset(cfg[loader]) for loader in loaders]
        steps = linked.get(name)
        if steps is not None and _restructured(cfg[name], steps) and not any(
                _restructured(d.pipeline, steps) for d in loader_sets):
            for dataset in loader_sets:
                dataset.pipeline = cfg[name]
        cfg[name] = loader_sets[0].pipeline
    _link_pipelines(cfg)


# ---- data, sizes and schedule ----------------------------------------------------------------
def set_data_root(cfg, data_root):
    cfg.data_root = data_root  # a dead copy after loading, kept truthful for --print-config
    for dataset in datasets(cfg):
        dataset.data_root = data_root


def data_root_of(cfg):
    return next(datasets(cfg)).data_root


def crop_size_of(cfg):
    """The training crop: the train pipeline's RandomCrop, else the data preprocessor's size."""
    for step in walk_dicts(innermost_dataset(cfg.train_dataloader).pipeline):
        if step.get('type') == 'RandomCrop':
            return tuple(step.crop_size)
    return tuple(cfg.model.data_preprocessor.size)


def scale_image_sizes(cfg, factor):
    """Scales every resize in the pipelines (and the sliding-window stride) by `factor`."""
    def scaled(value):
        if isinstance(value, (list, tuple)):
            return type(value)(scaled(v) for v in value)
        return max(1, int(round(value * factor))) if isinstance(value, (int, float)) else value

    for step in _unique_steps(cfg):
        for key in SIZE_KEYS:
            if step.get(key) is not None:
                step[key] = scaled(step[key])
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        cfg.model.test_cfg.stride = scaled(cfg.model.test_cfg.stride)


def set_crop_size(cfg, crop_size):
    """Sets the crop (RandomCrop, data preprocessor, sliding window) and scales the resizes with it:
    ADE20K's 512 recipes resize to (2048, 512), a 640 crop gets (2560, 640), as MMSeg's 640 recipes do."""
    crop_size = tuple(int(c) for c in crop_size)
    factor = min(crop_size) / min(crop_size_of(cfg))
    if factor != 1:
        scale_image_sizes(cfg, factor)
    cfg.crop_size = crop_size  # a dead copy after loading, kept truthful for --print-config
    for step in walk_dicts(innermost_dataset(cfg.train_dataloader).pipeline):
        if step.get('type') == 'RandomCrop':
            step.crop_size = crop_size
    cfg.model.data_preprocessor.size = crop_size
    if cfg.model.get('test_cfg', {}).get('mode') == 'slide':
        cfg.model.test_cfg.crop_size = crop_size


MIN_WARMUP_ITERS = 10


def set_schedule_length(cfg, iters):
    """Sets the schedule length and stretches the LR schedule with it (begin/end/milestones).

    A linear warm-up squeezed below MIN_WARMUP_ITERS is dropped: MMEngine's LinearLR reaches its end factor only
    one step after its end, so a 1-iteration warm-up would leave the LR at start_factor (1e-6 x) for the whole
    run, a 10-iteration one 10% short (the recipes' 1500 iterations: 0.07%)."""
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    schedulers = []
    for scheduler in cfg.get('param_scheduler') or []:
        begin = int(round(scheduler.get('begin', 0) * iters / old))
        scheduler.begin = min(begin, iters - 1)
        if 'end' in scheduler:
            scheduler.end = max(int(round(scheduler.end * iters / old)), scheduler.begin + 1)
        if 'milestones' in scheduler:
            scheduler.milestones = [max(1, int(round(m * iters / old))) for m in scheduler.milestones]
        if not (scheduler.get('type') == 'LinearLR' and scheduler.get('end', iters) - scheduler.begin < MIN_WARMUP_ITERS
                and scheduler.get('start_factor', 1) < scheduler.get('end_factor', 1.0)):
            schedulers.append(scheduler)
    if 'param_scheduler' in cfg:
        cfg.param_scheduler = schedulers


# ---- pretrained weights ----------------------------------------------------------
def pretrained_ref(model_cfg):
    """(dict, key) holding the backbone's pretrained file: model.pretrained or backbone.init_cfg."""
    if model_cfg.get('pretrained'):
        return model_cfg, 'pretrained'
    init_cfg = model_cfg.backbone.get('init_cfg')
    if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
        return init_cfg, 'checkpoint'
    return None


def drop_pretrained(model_cfg):
    model_cfg.pretrained = None
    if pretrained_ref(model_cfg):
        model_cfg.backbone.init_cfg = None

