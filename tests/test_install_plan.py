"""How tools/install.sh builds MMCV's ops, decided for faked machines (training/install/plan.py)."""
import os
import stat
import sys

import pytest

from training import cuda_env
from training.install.check import verify_in_child
from training.install.plan import PlanError, decide, lay_out_cuda_home

TORCH_ARCHS = ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']


def machine(**facts):
    """A CUDA 13.0 torch on a machine without GPU or nvcc, unless `facts` say otherwise; MMCV's compiled ops asked for
    (MMCV_OPS=compiled) and the variables of facts['environ'] set."""
    environ = {'MMCV_OPS': 'compiled', **facts.pop('environ', {})}
    env = dict(torch_version='2.14.1+cu130', torch_cuda='13.0', gpus=[], torch_arch_list=TORCH_ARCHS, gpu_devices=[],
               driver=None, nvcc=None, nvcc_version=None, nvcc_root=None, system_has_library_headers=False,
               pip_cuda_include='/repo/.venv/lib/python3.11/site-packages/nvidia/cu13/include',
               torch_cuda_toolkit_pin='==13.0.3', venv_cuda_home='/repo/.venv/cuda', environ=environ)
    env.update(facts)
    return env


H100 = dict(gpus=[(9, 0)], gpu_devices=['/proc/driver/nvidia/gpus/0000:00:05.0'], driver='580.95.05')


def test_cpu_torch_gets_cpu_ops():
    plan = decide(machine(torch_version='2.14.1+cpu', torch_cuda=None, torch_arch_list=[]))
    assert plan['ops'] == 'cpu' and plan['cache_tag'] == 'cpu'
    assert plan['build_env'] == {'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''}  # mmcv's setup.py must not see a GPU


def test_gpu_without_nvcc_gets_the_pypi_compiler_of_torchs_version():
    plan = decide(machine(**H100))
    assert plan['ops'] == 'cuda' and plan['compiler'] == 'pypi'
    assert plan['pypi_packages'] == ['cuda-toolkit[nvcc,crt,nvvm,cccl]==13.0.3']
    assert plan['cuda_home'] == '/repo/.venv/cuda' == plan['build_env']['CUDA_HOME']
    assert plan['arch_list'] == '9.0' and plan['cache_tag'] == 'cu130-sm90'
    assert plan['build_env']['FORCE_CUDA'] == '1' and plan['build_env']['TORCH_CUDA_ARCH_LIST'] == '9.0'


def test_gpu_with_a_system_toolkit_of_torchs_major_uses_it():
    plan = decide(machine(**H100, nvcc='/usr/local/bin/nvcc', nvcc_version='13.0', nvcc_root='/usr/local/cuda-13.0',
                          system_has_library_headers=True))
    assert plan['compiler'] == 'system' and plan['cuda_home'] == '/usr/local/cuda-13.0' and not plan['pypi_packages']
    assert 'CPATH' not in plan['build_env'] and not plan['warnings']


def test_a_compiler_only_toolkit_gets_the_library_headers_of_torchs_wheels():
    # (what the development machines have: nvcc and the runtime, no cuSPARSE/cuBLAS headers)
    plan = decide(machine(**H100, nvcc='/usr/local/bin/nvcc', nvcc_version='13.0', nvcc_root='/usr/local/cuda-13.0'))
    assert plan['compiler'] == 'system' and plan['cuda_home'] == '/usr/local/cuda-13.0'
    assert plan['build_env']['CPATH'] == '/repo/.venv/lib/python3.11/site-packages/nvidia/cu13/include'
    assert 'cusparse.h' in plan['warnings'][0]


def test_a_toolkit_of_another_major_is_not_used():
    plan = decide(machine(**H100, nvcc='/usr/bin/nvcc', nvcc_version='12.4', nvcc_root='/usr'))
    assert plan['compiler'] == 'pypi' and 'CUDA 12.4' in plan['warnings'][0]


def test_force_cuda_without_a_gpu_names_the_architectures():
    plan = decide(machine(environ={'FORCE_CUDA': '1'}))
    assert plan['arch_list'] == '7.5;8.0;8.6;9.0;10.0;12.0'  # torch's own list, never "native"
    assert plan['cache_tag'] == 'cu130-sm75_80_86_90_100_120'
    plan = decide(machine(environ={'FORCE_CUDA': '1', 'TORCH_CUDA_ARCH_LIST': '9.0'}))
    assert plan['arch_list'] == '9.0' and plan['cache_tag'] == 'cu130-sm90'


def test_a_driver_too_old_for_torch_is_an_error():
    with pytest.raises(PlanError, match=r'driver 535\.104\.05 is older than torch .* needs \(>= 580\.65\.06\)'):
        decide(machine(gpu_devices=['/dev/nvidia0'], driver='535.104.05'))
    with pytest.raises(PlanError) as error:  # with the default pure-PyTorch ops too: training would land on the CPU
        decide(dict(machine(gpu_devices=['/dev/nvidia0'], driver='535.104.05'), environ={}))
    assert 'to install for the CPU anyway: MMCV_CPU_OPS=1 make install' in str(error.value)


def test_cpu_ops_on_a_gpu_machine_only_on_request_with_a_warning():
    plan = decide(machine(**H100, environ={'MMCV_CPU_OPS': '1'}))
    assert plan['ops'] == 'cpu' and 'psanet' in plan['warnings'][0] and 'maskformer' in plan['warnings'][0]


def test_a_cpu_torch_on_a_gpu_machine_is_warned_about():
    plan = decide(machine(torch_version='2.14.1+cpu', torch_cuda=None, gpu_devices=['/dev/nvidia0'], driver='580.95.05'))
    assert plan['ops'] == 'cpu' and 'CPU build' in plan['warnings'][0]


def test_force_cuda_with_a_cpu_torch_is_an_error():
    with pytest.raises(PlanError, match='CPU build'):
        decide(machine(torch_cuda=None, environ={'FORCE_CUDA': '1'}))


def test_a_wrapper_nvcc_leads_to_the_real_toolkit(tmp_path):
    root = tmp_path / 'cuda-13.0'
    (root / 'bin').mkdir(parents=True)
    real = root / 'bin' / 'nvcc'
    real.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo "Cuda compilation tools, release 13.0, V13.0.88";'
                    f'\nelse echo "#\\$ TOP={root}/bin/.." >&2; fi\n')
    wrapper = tmp_path / 'bin' / 'nvcc'
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec {real} "$@"\n')
    for script in (real, wrapper):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert cuda_env.nvcc_info(str(wrapper)) == ('13.0', str(root))  # not dirname(dirname(wrapper))


def test_the_pypi_compiler_is_laid_out_as_a_cuda_home(tmp_path):
    nvidia = tmp_path / 'site-packages' / 'nvidia' / 'cu13'
    for sub in ('bin', 'include', 'nvvm', 'lib'):
        (nvidia / sub).mkdir(parents=True)
    (nvidia / 'lib' / 'libcudart.so.13').write_text('')
    home = lay_out_cuda_home(str(tmp_path / 'cuda'), str(nvidia))
    for sub in ('bin', 'include', 'nvvm'):
        assert os.path.realpath(os.path.join(home, sub)) == str(nvidia / sub)
    assert os.path.realpath(os.path.join(home, 'lib64', 'libcudart.so')) == str(nvidia / 'lib' / 'libcudart.so.13')
    lay_out_cuda_home(str(tmp_path / 'cuda'), str(nvidia))  # again: replaces its links


def test_required_driver_versions():
    assert cuda_env.driver_too_old('13.0', '575.57.08') == '580.65.06'
    assert cuda_env.driver_too_old('13.0', '580.65.06') is None
    assert cuda_env.driver_too_old('12.8', '550.54.14') is None


def test_the_installed_ops_pass_the_check():
    from training.mmcv_ops import ops_kind
    assert verify_in_child('pytorch' if ops_kind() == 'pytorch' else 'cpu') is None


def test_a_build_that_crashes_python_is_reported_not_silent():
    # as MMCV's _ext did on a GPU image with a foreign torch: a segmentation fault, nothing on stderr
    crash = [sys.executable, '-c', 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)']
    problem = verify_in_child('cuda', command=crash)
    assert 'crashed Python (SIGSEGV)' in problem and 'another torch' in problem
    failing = [sys.executable, '-c', 'import sys; sys.exit("MMCV was built without CUDA ops")']
    assert verify_in_child('cuda', command=failing) == 'MMCV was built without CUDA ops'


def test_the_pytorch_ops_are_the_default_and_need_no_compiler_on_any_machine():
    cpu_torch = dict(torch_version='2.14.1+cpu', torch_cuda=None, torch_arch_list=[])
    for facts in ({}, cpu_torch, H100, dict(H100, nvcc='/usr/bin/nvcc', nvcc_version='12.4', nvcc_root='/usr')):
        for environ in ({}, {'MMCV_OPS': 'pytorch'}, {'SYSTEM_TORCH': '1'}):  # unset: the default
            plan = decide(dict(machine(**facts), environ=environ))
            assert plan['ops'] == 'pytorch' and plan['compiler'] is None and not plan['pypi_packages']
            assert plan['build_env']['MMCV_WITH_OPS'] == '0' and plan['cache_tag'] == 'noops'
            assert not plan['warnings']
    with pytest.raises(PlanError, match='MMCV_OPS=cpu is not a mode') as error:
        decide(machine(environ={'MMCV_OPS': 'cpu'}))
    assert 'MMCV_OPS=compiled' in str(error.value)


def test_an_arch_list_preset_by_the_image_is_built_for_and_named_in_the_cache():
    # the GPU image sets TORCH_CUDA_ARCH_LIST=9.0a (Hopper's arch-specific features): taken as it is
    plan = decide(machine(**H100, nvcc='/usr/local/cuda-13.0/bin/nvcc', nvcc_version='13.0',
                          nvcc_root='/usr/local/cuda-13.0', system_has_library_headers=True,
                          environ={'TORCH_CUDA_ARCH_LIST': '9.0a'}))
    assert plan['arch_list'] == '9.0a' == plan['build_env']['TORCH_CUDA_ARCH_LIST']
    assert plan['cache_tag'] == 'cu130-sm90a' and plan['compiler'] == 'system'


def test_a_python_inside_a_venv_is_seen_with_its_own_pth_files(tmp_path):
    """SYSTEM_TORCH=1 with PYTHON=/opt/torch/.venv/bin/python (a GPU image's venv): .venv sees that venv's packages
    after its own, and that venv's .pth files run (setuptools' distutils shim lives in one, on Python >= 3.12)."""
    import subprocess
    from training.install.plan import see_site_packages_of

    def venv(path, *options, python=sys.executable):
        subprocess.run([python, '-m', 'venv', '--without-pip', *options, str(path)], check=True)
        return path / 'bin' / 'python', next(path.glob('lib/python*/site-packages'))
    image_python, image_site = venv(tmp_path / 'image')
    (image_site / 'image_torch.py').write_text('VERSION = "2.11.0"\n')
    (image_site / 'distutils-shim.pth').write_text("import os; os.environ['SHIM'] = 'active'\n")
    ours_python, ours_site = venv(tmp_path / 'ours', '--system-site-packages', python=image_python)
    assert see_site_packages_of(str(image_python), str(ours_site)) == [str(image_site)]
    seen = subprocess.run([str(ours_python), '-c', 'import image_torch, os, sys; print(image_torch.VERSION, '
                           'os.environ.get("SHIM"), sys.path.index(sys.argv[1]) < sys.path.index(sys.argv[2]))',
                           str(ours_site), str(image_site)], capture_output=True, text=True)
    assert seen.stdout.split() == ['2.11.0', 'active', 'True'], seen.stderr
