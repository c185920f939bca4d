"""tools/install.sh offline, as on a GPU machine with no network: PIP_NO_INDEX=1 and PIP_FIND_LINKS=<a folder of
carried wheels> (tools/gather_gpu_wheels.sh). The carried wheels are installed as they are, the requirements come
from the machine's own packages, and a package nobody carried is named with the list to add it to.

The venv under test keeps this venv's torch, MMCV and packages (SYSTEM_TORCH=1 with this venv's Python, itself a
venv as on GPU images), so the install runs its offline steps in seconds and never reaches PyPI."""
import os
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow(1)


def _wheel(folder, name, version):
    """A real (tiny) wheel of a pure-Python package `name`, as pip builds them."""
    dist = f'{name}-{version}.dist-info'
    files = {f'{name}/__init__.py': f'CARRIED = {version!r}\n',
             f'{dist}/METADATA': f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n',
             f'{dist}/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'}
    files[f'{dist}/RECORD'] = ''.join(f'{path},,\n' for path in files) + f'{dist}/RECORD,,\n'
    path = folder / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def _install(venv, carried, extra_requirements):
    env = {**os.environ, 'VENV': str(venv), 'SYSTEM_TORCH': '1', 'PYTHON': sys.executable, 'PIP_NO_INDEX': '1',
           'PIP_FIND_LINKS': str(carried), 'EXTRA_REQUIREMENTS': str(extra_requirements)}
    return subprocess.run(['bash', 'tools/install.sh'], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)


def test_offline_install_takes_the_carried_wheels_and_names_what_was_not_carried(tmp_path):
    carried = tmp_path / 'whl'
    carried.mkdir()
    _wheel(carried, 'carried_package', '0.3')
    needs = tmp_path / 'needs.txt'  # as tests/requirements.txt is to `make install`
    needs.write_text('carried_package==0.3\nnever-carried-package==1.0\n')
    venv = tmp_path / 'venv'

    result = _install(venv, carried, needs)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    # the steps before ran offline from this venv's packages: MMCV found, the carried wheel installed into the venv
    assert '    already installed' in result.stdout
    found = subprocess.run([str(venv / 'bin' / 'python'), '-c', 'import carried_package as p; print(p.__file__)'],
                           capture_output=True, text=True)
    assert found.returncode == 0 and found.stdout.startswith(str(venv)), found.stdout + found.stderr
    # carried_package==0.3 was satisfied; the one nobody carried is named by pip, then the paragraph says what to do
    assert 'No matching distribution found for never-carried-package==1.0' in result.stderr
    assert (f"install failed at step 'the rest of requirements.txt and {needs}': pip could not install the packages"
            in result.stderr)
    assert (f'Fix: add the missing package (pip names it above) to MISSING in tools/gather_gpu_wheels.sh, gather '
            f'again and carry {carried}.') in result.stderr
    assert 'PyPI' not in result.stderr.split('install failed at step')[1]  # not the online advice
