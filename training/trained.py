"""A trained checkpoint with the config it was trained with, for evaluate.py, infer.py and export.py."""
from .checkpoints import find_checkpoint, load_checkpoint_file, recorded_config
from .config import drop_pretrained
from .errors import UserError


def experiment_config(name, argv=()):
    """The resolved config of train_<name>.py (its config() and the command line `argv`)."""
    from .experiments import load_script
    from .run_config import build_config
    script = load_script(name)
    return build_config(script.config, script.OFFICIAL, list(argv))[0]


def load_trained(path, name=None):
    """(checkpoint path, checkpoint, config) of a checkpoint file or a work dir's best-mIoU checkpoint; the config
    is the one recorded in the checkpoint, else train_<name>.py's. Its pretrained-weights entry is dropped: the
    checkpoint holds every weight."""
    checkpoint_path = find_checkpoint(path)
    checkpoint = load_checkpoint_file(checkpoint_path)
    cfg = experiment_config(name) if name else recorded_config(checkpoint)
    if cfg is None:
        raise UserError(f'{checkpoint_path} does not record its config: name the model, e.g. --model fcn.')
    drop_pretrained(cfg.model)
    return checkpoint_path, checkpoint, cfg


def trained_segmentor(path, name=None, device='cpu'):
    """(the segmentor with the checkpoint's weights, in eval mode, with its dataset_meta; the checkpoint path) of a
    checkpoint file or a work dir (its best-mIoU checkpoint)."""
    from mmseg.apis import init_model
    from mmseg.datasets import ADE20KDataset
    checkpoint_path, checkpoint, cfg = load_trained(path, name)
    segmentor = init_model(cfg, checkpoint=None, device=device)
    segmentor.load_state_dict(checkpoint['state_dict'])
    segmentor.dataset_meta = (checkpoint.get('meta') or {}).get('dataset_meta') or ADE20KDataset.METAINFO
    return segmentor.eval(), checkpoint_path
