"""Where things are: the repository, the scripts, the data and the work dirs (patterns with {name}, a script's name).

Only the standard library: tools/install.sh and the install checks import it before the stack exists.
"""
import os
import re

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_ROOT = 'data/ade/ADEChallengeData2016'      # ADE20K, as the protocol trains on it
WORK_DIR = 'work_dirs/{name}_ade20k'             # the protocol's work dir of train_<name>.py
SMOKE_WORK_DIR = 'work_dirs/{name}_ade20k_smoke'  # --smoke's
UNNAMED_WORK_DIR = 'work_dirs/{name}'            # a script that skips the protocol (and sets no work_dir)
_WORK_DIR_SUFFIX = re.compile(r'_ade20k(_[a-z0-9]+)?$')


def work_dir_for(pattern, name):
    """A work-dir pattern with the script's name in place of {name} (other braces are left as they are)."""
    return pattern.replace('{name}', name)


def model_of_work_dir(work_dir):
    """The model a work dir of the protocol's pattern belongs to (work_dirs/fcn_ade20k_smoke, fcn_ade20k_demo -> fcn);
    other names as they are."""
    return _WORK_DIR_SUFFIX.sub('', os.path.basename(os.path.normpath(work_dir)))


def script_file(name):
    """The file name of an experiment's script: train_<name>.py."""
    return f'train_{name}.py'


def script_path(name):
    return os.path.join(REPO_ROOT, script_file(name))
