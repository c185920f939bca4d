"""The experiments of this collection: one per train_<name>.py at the repository root.

A script's name is its experiment's name (train_fcn.py -> fcn, work dir work_dirs/fcn_ade20k); a copy
(train_fcn_mytry.py) is a new experiment. A script holds OFFICIAL (the official recipe's figures) and
config() (its MMSeg config after the protocol and its knobs); tools read both by loading the script.
"""
import glob
import importlib.util
import inspect
import os
import re
import sys

from .paths import script_path
from .errors import UserError


def name_of(script_path):
    """The experiment name of a train_<name>.py."""
    return re.sub(r'^train_', '', os.path.splitext(os.path.basename(script_path))[0])


def name_of_config_function(config_function):
    return name_of(inspect.getfile(config_function))


def all_names():
    """Every experiment at the repository root, sorted."""
    return sorted(name_of(path) for path in glob.glob(script_path('*')))


def load_script(name):
    """The module of train_<name>.py, imported without running its training (its main block is guarded)."""
    path = script_path(name)
    if not os.path.isfile(path):
        raise UserError(f'{path} does not exist: known experiments are {", ".join(all_names())}.')
    module_name = f'train_{name}'
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def official_of(name):
    """The OFFICIAL figures of train_<name>.py (config, iters, total_batch, miou), {} where there is none."""
    try:
        return dict(getattr(load_script(name), 'OFFICIAL', {}))
    except UserError:
        return {}


def official_mmseg_config(official):
    """The MMSeg config of an OFFICIAL record to compare with, or None (a recipe from another repository, or
    one adapted from another dataset)."""
    config = official.get('config') or ''
    return config if config.startswith('mmseg::') else None
