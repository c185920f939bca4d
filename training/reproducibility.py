"""Reproducible by default: the same command trains the same weights, with any number of loader workers, resumed,
preempted or killed or not.

- The seed: the recipe's own (cfg.randomness.seed) where it sets one, else 0; --seed N chooses another
  (run_config.py). MMEngine seeds the model's initialisation and the sampler's order with it; it is in the log,
  in --print-config and in every checkpoint.
- The data stream depends only on the seed and the position in it. The sampler's order comes from the seed (a
  resumed run skips to its position: resume/fast_loop.py), and each sample's random augmentation (MMSeg's and MMCV's
  transforms draw from numpy's and Python's global generators) is drawn from generators seeded by (seed, rank,
  position of the sample in this rank's stream): SeededSamples wraps the training set and takes (position, index)
  pairs from the loop. Neither the loader worker that prepares a sample nor how many there are changes it.
- The model's own randomness (dropout, drop path, point sampling): RandomStates writes the states of torch, numpy
  and random, and CUDA's where there is a GPU, of every rank into every checkpoint, and restores each rank's when the
  run continues; a fresh run starts them from (seed, rank). Validation and the loading of batches leave them as they
  were, so they depend on the iterations trained alone.
- --deterministic (make_deterministic): MMEngine's deterministic randomness (cuDNN deterministic, no benchmark),
  torch.use_deterministic_algorithms(True, warn_only=True) and CUBLAS_WORKSPACE_CONFIG: bit for bit on a GPU too, for
  the same GPU model and software stack, where every op has a deterministic kernel (README).
"""
import contextlib
import os
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.registry import DATASETS

DEFAULT_SEED = 0
CUBLAS_WORKSPACE = ':4096:8'  # what cuBLAS needs for deterministic results (CUDA's documentation)
DATA, MODEL = 0, 1  # the two kinds of streams derived from one seed: a sample's augmentation, an iteration's model


def derived_seed(*parts):
    """A 32-bit seed that depends on every part (numbers), each part's stream independent of the others'."""
    return int(np.random.SeedSequence([int(part) for part in parts]).generate_state(1)[0])


def rng_states(cuda=True):
    """The states of torch's, numpy's and Python's global generators (and CUDA's, where `cuda` and a GPU), in plain
    types."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    states = dict(torch=torch.get_rng_state(), numpy=[kind, keys.tolist(), position, has_gauss, gauss],
                  random=[version, list(internal), gauss_next])
    if cuda and torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states):
    torch.set_rng_state(states['torch'])
    kind, keys, position, has_gauss, gauss = states['numpy']
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), position, has_gauss, gauss))
    version, internal, gauss_next = states['random']
    random.setstate((version, tuple(internal), gauss_next))
    if 'cuda' in states and torch.cuda.is_available() and len(states['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states['cuda'])


def seed_everything(seed, cuda=True):
    random.seed(seed)
    np.random.seed(seed)
    if cuda:
        torch.manual_seed(seed)  # (CUDA's generators too)
    else:
        torch.random.default_generator.manual_seed(seed)


@contextlib.contextmanager
def seeded_cpu_generators(seed):
    """The CPU's global generators (the ones data transforms draw from) seeded with `seed` inside, as they were
    outside. CUDA is not touched: a forked loader worker must not. In a loader worker nothing else draws from them,
    and the save and restore (numpy's takes 50 us) is left out."""
    if torch.utils.data.get_worker_info() is not None:
        seed_everything(seed, cuda=False)
        yield
        return
    saved = torch.get_rng_state(), np.random.get_state(), random.getstate()  # (as they are: no conversion)
    seed_everything(seed, cuda=False)
    try:
        yield
    finally:
        torch.set_rng_state(saved[0])
        np.random.set_state(saved[1])
        random.setstate(saved[2])


# ---- the data stream ------------------------------------------------------------------------------
@DATASETS.register_module(force=True)
class SeededSamples(torch.utils.data.Dataset):
    """The training set, each sample's augmentation drawn from generators seeded by (seed, rank, position), for a
    (position, index) key; a plain index is the plain sample. The rest (metainfo, length...) is the wrapped set's."""

    def __init__(self, dataset, seed=DEFAULT_SEED, rank=0):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.seed, self.rank = seed, rank

    def __getattr__(self, name):  # metainfo, full_init, get_data_info...: the wrapped set's
        if name == 'dataset':  # (not there yet, while unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, key):
        if not isinstance(key, tuple):
            return self.dataset[key]
        position, index = key
        with seeded_cpu_generators(derived_seed(self.seed, self.rank, DATA, position)):
            return self.dataset[index]


def seeded_training_set(dataloader_cfg):
    """The train loader's config with its dataset wrapped in SeededSamples (the config the run records is untouched)."""
    from mmengine.dist import get_rank
    return dict(dataloader_cfg, dataset=dict(type=SeededSamples.__name__, dataset=dataloader_cfg['dataset'],
                                             rank=get_rank()))


def positioned(indices, start):
    """(position, index) pairs of a rank's index stream whose first index is at `start`."""
    return enumerate(indices, start=start)


# ---- the model's randomness ---------------------------------------------------------------------------
class RandomStates(Hook):
    """Every checkpoint holds the generators' states of every rank (as they are after its iteration); the first
    iteration of a process restores this rank's from the checkpoint it continues from, or, in a fresh run, seeds them
    from (seed, rank). Validation leaves them untouched."""

    priority = 'LOW'  # after_train_iter: before the CheckpointHook (VERY_LOW) and the stop on a signal (LOWEST)

    def __init__(self):
        self.loaded = None      # the states in the checkpoint this run continues from
        self.started = False
        self.ranks = None       # every rank's states after the current iteration
        self._before_val = None

    def after_load_checkpoint(self, runner, checkpoint):
        self.loaded = checkpoint.get('rng_states')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.started:
            return
        self.started = True
        from mmengine.dist import get_rank, get_world_size
        if self.loaded and len(self.loaded['ranks']) == get_world_size():
            set_rng_states(self.loaded['ranks'][get_rank()])
            runner.logger.info(f'random states restored from the checkpoint (iteration {runner.iter})')
        else:  # a fresh run (or a checkpoint from before these states, or from another number of processes)
            seed_everything(derived_seed(runner.seed, get_rank(), MODEL, runner.iter))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from mmengine.dist import all_gather_object, get_world_size
        states = rng_states()
        # every iteration, because a checkpoint can come at any iteration (a stop signal): one small collective
        self.ranks = all_gather_object(states) if get_world_size() > 1 else [states]

    def before_save_checkpoint(self, runner, checkpoint):
        if self.ranks is not None:
            checkpoint['rng_states'] = dict(seed=runner.seed, ranks=self.ranks)

    def before_val(self, runner):
        self._before_val = rng_states()

    def after_val(self, runner):
        if self._before_val is not None:
            set_rng_states(self._before_val)
            self._before_val = None


# ---- --deterministic ------------------------------------------------------------------------------------
def set_seed(cfg, seed=None, deterministic=False):
    """cfg.randomness: `seed` where given (--seed), else the recipe's own, else DEFAULT_SEED; with `deterministic`
    (--deterministic) MMEngine's deterministic randomness and no cuDNN benchmark."""
    randomness = dict(cfg.get('randomness') or {})
    if seed is not None or randomness.get('seed') is None:
        randomness['seed'] = DEFAULT_SEED if seed is None else seed
    if deterministic:
        randomness['deterministic'] = True
        cfg.env_cfg.cudnn_benchmark = False
    cfg.randomness = randomness


def make_this_process_deterministic():
    """--deterministic, for this process, before CUDA starts: PyTorch's deterministic algorithms (a warning, once,
    where an op has none) and the cuBLAS workspace they need."""
    os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', CUBLAS_WORKSPACE)
    torch.use_deterministic_algorithms(True, warn_only=True)
