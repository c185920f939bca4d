"""What this machine offers for CUDA: a GPU, its driver, a compiler. Read by the install plan and by training.

Only the standard library (and torch where asked for): tools/install.sh runs this before MMCV is installed.
"""
import glob
import os
import re
import shutil
import subprocess
from typing import NamedTuple

# The oldest Linux driver each CUDA major runs on (NVIDIA's CUDA toolkit release notes, table 3).
MIN_DRIVER = {13: '580.65.06', 12: '525.60.13', 11: '450.80.02'}


def driver_tuple(version):
    return tuple(int(part) for part in re.findall(r'\d+', version or ''))


def gpu_devices():
    """The NVIDIA GPUs the kernel driver knows, whether or not torch can use them."""
    return sorted(glob.glob('/proc/driver/nvidia/gpus/*')) or sorted(
        path for path in glob.glob('/dev/nvidia*') if re.fullmatch(r'/dev/nvidia\d+', path))


def driver_version():
    """The loaded NVIDIA kernel driver's version, or None."""
    try:
        with open('/proc/driver/nvidia/version') as f:
            match = re.search(r'Kernel Module\s+(?:for \S+\s+)?([\d.]+)', f.read())
            if match:
                return match.group(1)
    except OSError:
        pass
    if shutil.which('nvidia-smi'):
        try:
            out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version', '--format=csv,noheader'],
                                 capture_output=True, text=True, timeout=30).stdout.split()
            return out[0] if out else None
        except (OSError, subprocess.TimeoutExpired):
            return None
    return None


def driver_too_old(torch_cuda, driver):
    """The minimum driver version when `driver` is older than torch's CUDA needs, else None."""
    if not torch_cuda or not driver:
        return None
    needed = MIN_DRIVER.get(int(torch_cuda.split('.')[0]))
    return needed if needed and driver_tuple(driver) < driver_tuple(needed) else None


class GpuProblem(NamedTuple):
    """Why torch cannot use a GPU the kernel driver knows, and the way out."""
    cause: str  # 'driver' (older than torch's CUDA needs), 'cpu_build' (torch has no CUDA), 'hidden' (anything else)
    why: str    # a clause: "its NVIDIA driver ... is older than ..."
    fix: str    # a sentence, without its full stop


def gpu_problem(torch_version, torch_cuda, driver, make_prefix=''):
    """The diagnosis of a GPU that torch cannot use (one for the install plan and for training). `make_prefix`: the
    variables the fix's `make install` keeps (e.g. 'MMCV_OPS=compiled ')."""
    needed = driver_too_old(torch_cuda, driver)
    if needed:
        return GpuProblem('driver', f'its NVIDIA driver {driver} is older than torch {torch_version} '
                                    f'(CUDA {torch_cuda}) needs (>= {needed})',
                          f'Update the NVIDIA driver to {needed} or newer, or keep a torch built for your driver with '
                          f'{make_prefix}SYSTEM_TORCH=1 make install')
    if not torch_cuda:
        return GpuProblem('cpu_build', f'torch {torch_version} is a CPU build',
                          f'Install the CUDA torch: rm -rf .venv && {make_prefix}make install (without SYSTEM_TORCH)')
    return GpuProblem('hidden', f'torch.cuda.is_available() is False (driver {driver or "unknown"})',
                      'Check that `nvidia-smi` works for this user and that CUDA_VISIBLE_DEVICES does not hide the GPU')


def nvcc_info(nvcc):
    """(CUDA version, toolkit root) of an nvcc, following wrapper scripts: `nvcc -dryrun` prints the real root on
    its `#$ TOP=` line, where `dirname(dirname(nvcc))` would name the wrapper's directory."""
    try:
        version = subprocess.run([nvcc, '--version'], capture_output=True, text=True, timeout=60).stdout
        dryrun = subprocess.run([nvcc, '-dryrun', '-x', 'cu', '-c', os.devnull, '-o', os.devnull],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    release = re.search(r'release (\d+\.\d+)', version)
    top = re.search(r'^#\$ TOP=(.+)$', dryrun.stdout + dryrun.stderr, re.MULTILINE)
    root = os.path.realpath(top.group(1).strip()) if top else os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))
    return (release.group(1) if release else None), root
