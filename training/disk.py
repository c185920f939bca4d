"""Disk space: sizes as messages give them, and the check that a write fits before it starts (downloads, the
unpacking of ADE20K, a run's checkpoints)."""
import shutil

from .errors import UserError


def gb(size):
    return f'{size / 1e9:.1f} GB'


def free_bytes(directory):
    return shutil.disk_usage(directory).free


def require_space(directory, needed, what, fix='Free some space, or put it on a larger disk and link it there.'):
    """A UserError unless `directory` has `needed` bytes free for `what` ('to download URL', 'to unpack FILE')."""
    free = free_bytes(directory)
    if free < needed:
        raise UserError(f'Not enough disk space {what}: it needs {gb(needed)} in {directory}, and {gb(free)} are free. '
                        f'{fix}')
