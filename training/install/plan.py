"""How tools/install.sh builds MMCV's compiled ops on this machine: CPU ops, or CUDA ops with which compiler,
for which GPU architectures, cached under which name. One decision, made here and tested on faked machines.

    python -m training.install.plan --shell --mmcv-version V   # the plan as shell assignments (install.sh evals it)
    python -m training.install.plan --cuda-home DIR    # lay out NVIDIA's PyPI compiler as a CUDA_HOME in DIR

The choices:
- PyTorch ops, the default (MMCV_OPS unset or MMCV_OPS=pytorch): MMCV is built without its op library
  (MMCV_WITH_OPS=0, pure Python, seconds) and the project's pure-PyTorch `_ext` (training/mmcv_ext_pytorch.py) is
  installed in its place: no compiler, on any machine, CPU or GPU, at some speed cost on a GPU for psanet,
  mask2former and maskformer (the other 24 models call no MMCV op).
- Compiled ops, on request (MMCV_OPS=compiled), as below: MMCV's own op library built from source.
- CPU ops: no GPU visible and no FORCE_CUDA=1, or MMCV_CPU_OPS=1 (then, on a GPU box, a warning: psanet,
  mask2former and maskformer need CUDA ops). mmcv's setup.py takes its CUDA branch whenever torch sees a GPU,
  so the CPU build hides the GPUs from it.
- CUDA ops with the system toolkit, when its nvcc has torch's CUDA major; its real root is found even when
  `nvcc` is a wrapper script (nvcc -dryrun), where torch would guess a wrong CUDA_HOME and fail to link cudart.
  A compiler-only toolkit (no cusparse.h, which torch's CUDA headers include) gets the library headers of the
  CUDA wheels torch installed.
- CUDA ops with NVIDIA's compiler from PyPI (the cuda-toolkit version torch itself pins) when the system has no
  nvcc of that major: installed into the venv and laid out as a CUDA_HOME for torch's extension builder.
- The architectures are explicit (TORCH_CUDA_ARCH_LIST, else the visible GPUs', else torch's own list) and
  part of the cache key: a wheel built for one GPU generation fails on another ("no kernel image").
- A GPU that torch cannot use (a driver older than torch's CUDA needs) is an error, not a silent CPU build.
Only the standard library and torch: this runs before MMCV exists.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

from .. import cuda_env

CPU_ONLY_OPS_MODELS = 'psanet (PSAMask), mask2former (deformable attention) and maskformer (sigmoid focal loss)'
PYPI_EXTRAS = 'nvcc,crt,nvvm,cccl'
OPS_MODES = ('pytorch', 'compiled')  # MMCV_OPS=..., the default first
DEFAULT_OPS_MODE = OPS_MODES[0]


class PlanError(Exception):
    """The install cannot go on; the message says why and what to do."""


def decide(env):
    """The build plan for a machine described by `env` (see probe() for the keys): a dict with ops ('cpu', 'cuda'
    or 'pytorch'), compiler (None, 'system' or 'pypi'), cuda_home, arch_list, pypi_packages, cache_tag, build_env
    (variables for the MMCV build) and warnings. Raises PlanError where no good build exists."""
    torch_cuda, gpus, requested = env['torch_cuda'], env['gpus'], env.get('environ', {})
    plan = dict(ops='cpu', compiler=None, cuda_home=None, arch_list=None, pypi_packages=[], warnings=[],
                cache_tag='cpu', build_env={'FORCE_CUDA': '0', 'CUDA_VISIBLE_DEVICES': ''})
    ops_mode = requested.get('MMCV_OPS') or DEFAULT_OPS_MODE
    if ops_mode not in OPS_MODES:
        raise PlanError(f'MMCV_OPS={ops_mode} is not a mode of this install: leave MMCV_OPS unset (or '
                        f'MMCV_OPS=pytorch) for the pure-PyTorch ops, the default, or use MMCV_OPS=compiled to build MMCV\'s own op '
                        f'library (a C++ compiler, on a GPU machine a CUDA one; minutes to build).')
    cpu_requested = requested.get('MMCV_CPU_OPS') == '1'
    mode = '' if ops_mode == DEFAULT_OPS_MODE else f'MMCV_OPS={ops_mode} '
    anyway = f'to install for the CPU anyway: {mode}MMCV_CPU_OPS=1 make install'
    if env['gpu_devices'] and not gpus and not cpu_requested:
        problem = cuda_env.gpu_problem(env['torch_version'], torch_cuda, env.get('driver'), mode)
        if problem.cause == 'cpu_build':  # the install can go on; training refuses the CPU until the torch changes
            plan['warnings'].append(f'this machine has an NVIDIA GPU, but {problem.why}: training would refuse to run '
                                    f'on the CPU. {problem.fix}.')
        else:
            rerun = f', then rerun {mode}make install' if problem.cause == 'hidden' else ''
            raise PlanError(f'this machine has an NVIDIA GPU ({env["gpu_devices"][0]}), but torch cannot use it: '
                            f'{problem.why}, so training would run on the CPU. {problem.fix}{rerun}; {anyway}.')
    if ops_mode == 'pytorch':
        plan.update(ops='pytorch', cache_tag='noops')
        plan['build_env'].update(MMCV_WITH_OPS='0')
        return plan
    if cpu_requested:
        if gpus:
            plan['warnings'].append(f'MMCV_CPU_OPS=1 on a machine with a GPU: MMCV gets CPU ops only, and '
                                    f'{CPU_ONLY_OPS_MODELS} will fail at their first CUDA step.')
        return plan
    if not (gpus or requested.get('FORCE_CUDA') == '1'):
        return plan
    if not torch_cuda:
        raise PlanError(f'FORCE_CUDA=1 needs a CUDA build of torch, and torch {env["torch_version"]} is a CPU build. '
                        f'Install the CUDA torch (MMCV_OPS=compiled make install without SYSTEM_TORCH) or drop '
                        f'FORCE_CUDA.')
    torch_major = torch_cuda.split('.')[0]
    plan.update(ops='cuda', arch_list=_arch_list(env), build_env={'FORCE_CUDA': '1'})
    plan['build_env']['TORCH_CUDA_ARCH_LIST'] = plan['arch_list']
    plan['cache_tag'] = f'cu{torch_cuda.replace(".", "")}-sm{plan["arch_list"].replace(".", "").replace(";", "_")}'
    system_version, system_root = env.get('nvcc_version'), env.get('nvcc_root')
    if system_version and system_version.split('.')[0] == torch_major:
        plan.update(compiler='system', cuda_home=system_root)
        if not env.get('system_has_library_headers') and env.get('pip_cuda_include'):
            # a compiler-only toolkit (no cuSPARSE/cuBLAS headers, which torch's CUDA headers include): the
            # headers of the CUDA libraries torch's wheel installed, searched after the toolkit's own
            plan['build_env']['CPATH'] = ':'.join(filter(None, [env['pip_cuda_include'], requested.get('CPATH')]))
            plan['warnings'].append(f'{system_root} has no cusparse.h (a compiler-only CUDA toolkit): the CUDA '
                                    f'library headers come from {env["pip_cuda_include"]}.')
    else:
        if system_version:
            plan['warnings'].append(f'the system nvcc ({env["nvcc"]}) is CUDA {system_version}, torch is CUDA '
                                    f'{torch_cuda}: using NVIDIA\'s CUDA {torch_cuda} compiler from PyPI instead.')
        toolkit = env.get('torch_cuda_toolkit_pin') or f'=={torch_cuda}.*'
        plan.update(compiler='pypi', cuda_home=env['venv_cuda_home'],
                    pypi_packages=[f'cuda-toolkit[{PYPI_EXTRAS}]{toolkit}'])
    plan['build_env']['CUDA_HOME'] = plan['cuda_home']
    return plan


def _arch_list(env):
    """TORCH_CUDA_ARCH_LIST as given, else the visible GPUs' capabilities, else every architecture torch has
    kernels for ('sm_90' -> '9.0')."""
    given = env.get('environ', {}).get('TORCH_CUDA_ARCH_LIST')
    if given:
        return given
    if env['gpus']:
        return ';'.join(sorted({f'{major}.{minor}' for major, minor in env['gpus']}))
    archs = [re.fullmatch(r'sm_(\d+)(\d)', arch) for arch in env.get('torch_arch_list') or []]
    return ';'.join(f'{m.group(1)}.{m.group(2)}' for m in archs if m) or '9.0'


def probe(venv_cuda_home):
    """The facts decide() needs, read from this machine."""
    import importlib.metadata

    import torch
    gpus = ([torch.cuda.get_device_capability(i) for i in range(torch.cuda.device_count())]
            if torch.cuda.is_available() else [])
    nvcc = _system_nvcc()
    nvcc_version, nvcc_root = cuda_env.nvcc_info(nvcc) if nvcc else (None, None)
    pin = None
    for requirement in importlib.metadata.requires('torch') or []:
        match = re.match(r'cuda-toolkit\b[^=<>~;]*(==[^;\s]+)', requirement)
        if match:
            pin = match.group(1)
    pip_include = None
    if torch.version.cuda:
        import nvidia
        major = torch.version.cuda.split('.')[0]
        includes = [os.path.join(path, f'cu{major}', 'include') for path in nvidia.__path__]
        pip_include = next((include for include in includes if _has_library_headers(include)), None)
    return dict(torch_version=torch.__version__, torch_cuda=torch.version.cuda, gpus=gpus,
                torch_arch_list=torch.cuda.get_arch_list() if torch.version.cuda else [],
                gpu_devices=cuda_env.gpu_devices(), driver=cuda_env.driver_version(), nvcc=nvcc,
                nvcc_version=nvcc_version, nvcc_root=nvcc_root, torch_cuda_toolkit_pin=pin,
                system_has_library_headers=bool(nvcc_root) and _has_library_headers(os.path.join(nvcc_root, 'include')),
                pip_cuda_include=pip_include,
                venv_cuda_home=venv_cuda_home,
                environ={k: os.environ[k] for k in ('FORCE_CUDA', 'TORCH_CUDA_ARCH_LIST', 'MMCV_CPU_OPS', 'CPATH',
                                                    'MMCV_OPS') if k in os.environ})


def _has_library_headers(include_dir):
    """Whether a CUDA include directory has the library headers torch's CUDA headers include (cusparse.h)."""
    return os.path.isfile(os.path.join(include_dir, 'cusparse.h'))


def _system_nvcc():
    """The system's nvcc: $CUDA_HOME/bin/nvcc when CUDA_HOME is set, else the one on PATH. (A toolkit that is on
    neither is not used: the build sets CUDA_HOME itself, so torch never guesses /usr/local/cuda.)"""
    home = os.environ.get('CUDA_HOME') or os.environ.get('CUDA_PATH')
    candidate = os.path.join(home, 'bin', 'nvcc') if home else shutil.which('nvcc')
    return candidate if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def lay_out_cuda_home(cuda_home, nvidia_root):
    """Makes `cuda_home` look like a CUDA toolkit to torch's extension builder, from the PyPI packages under
    `nvidia_root` (site-packages/nvidia/cu13): bin, include and nvvm linked, and lib64/libcudart.so (the
    extension links -lcudart; the wheel ships only libcudart.so.13)."""
    os.makedirs(os.path.join(cuda_home, 'lib64'), exist_ok=True)
    for name in ('bin', 'include', 'nvvm'):
        source, link = os.path.join(nvidia_root, name), os.path.join(cuda_home, name)
        if not os.path.isdir(source):
            raise PlanError(f'{source} is missing: NVIDIA\'s PyPI compiler did not install completely. Rerun '
                            f'MMCV_OPS=compiled make install; if it repeats, install a CUDA toolkit and put its nvcc '
                            f'on PATH.')
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(source, link)
    runtimes = sorted(f for f in os.listdir(os.path.join(nvidia_root, 'lib')) if f.startswith('libcudart.so.'))
    if not runtimes:
        raise PlanError(f'no libcudart.so.* in {nvidia_root}/lib: the CUDA runtime wheel is missing.')
    for name in ('libcudart.so', runtimes[0]):
        link = os.path.join(cuda_home, 'lib64', name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(nvidia_root, 'lib', runtimes[0]), link)
    return cuda_home


def see_site_packages_of(python, venv_site_packages):
    """Makes this venv (created with --system-site-packages from `python`) see `python`'s own venv, where GPU images
    often keep their torch (/opt/torch/.venv): --system-site-packages reaches only the base interpreter's
    packages. A .pth file in `venv_site_packages` adds that venv's site-packages after this venv's own, with
    site.addsitedir, which also runs that directory's .pth files (setuptools' distutils shim on Python >= 3.12,
    which MMEngine's collect_env imports): a plain path line would skip them. Returns the directories added."""
    child = subprocess.run([python, '-c', 'import site, sys; sys.prefix != sys.base_prefix and '
                                          'print(*site.getsitepackages(), sep="\\n")'],
                           capture_output=True, text=True, check=True)
    directories = [line for line in child.stdout.splitlines() if line]
    if directories:
        with open(os.path.join(venv_site_packages, 'system-torch.pth'), 'w') as f:
            f.writelines(f'import site; site.addsitedir({directory!r})\n' for directory in directories)
    return directories


def wheel_dir(cache_tag, mmcv_version, torch_version, cache=None):
    """Where the MMCV wheel of a plan is cached: <MMCV_CACHE>/mmcv-<version>-torch<version>-cp<XY>-<cache tag> (the
    default cache ~/.cache/ade20k-seg/mmcv-wheels); install.sh builds into it, the GPU report looks there."""
    cache = cache or os.environ.get('MMCV_CACHE') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'ade20k-seg', 'mmcv-wheels')
    python = f'cp{sys.version_info.major}{sys.version_info.minor}'
    return os.path.join(cache, f'mmcv-{mmcv_version}-torch{torch_version.split("+")[0]}-{python}-{cache_tag}')


def _shell(plan, wheels):
    values = dict(PLAN_OPS=plan['ops'], CUDA_COMPILER=plan['compiler'] or '', PLAN_CUDA_HOME=plan['cuda_home'] or '',
                  PLAN_ARCH_LIST=plan['arch_list'] or '', DEVICE_TAG=plan['cache_tag'], WHEEL_DIR=wheels,
                  PYPI_CUDA_PACKAGES=' '.join(plan['pypi_packages']),
                  BUILD_ENV=' '.join(f'{k}={v}' for k, v in plan['build_env'].items()))
    lines = [f'{key}={shlex.quote(value)}' for key, value in values.items()]
    return '\n'.join(lines + [f'echo {shlex.quote("    warning: " + w)} >&2' for w in plan['warnings']])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shell', action='store_true', help='print the plan as shell assignments')
    parser.add_argument('--mmcv-version', help='with --shell: the MMCV version to install (its wheel cache folder)')
    parser.add_argument('--venv-cuda-home', default=os.path.join(sys.prefix, 'cuda'))
    parser.add_argument('--cuda-home', metavar='DIR', help='lay out the PyPI compiler as a CUDA_HOME in DIR')
    parser.add_argument('--see-site-packages-of', metavar='PYTHON',
                        help="make this venv see PYTHON's venv (SYSTEM_TORCH=1 with a PYTHON inside a venv)")
    args = parser.parse_args(argv)
    try:
        if args.see_site_packages_of:
            import site
            for directory in see_site_packages_of(args.see_site_packages_of, site.getsitepackages()[0]):
                print(f'    and {directory}')
        elif args.cuda_home:
            import nvidia
            roots = [os.path.join(path, f'cu{major}') for path in nvidia.__path__ for major in (13, 12)]
            root = next((r for r in roots if os.path.isfile(os.path.join(r, 'bin', 'nvcc'))), None)
            if root is None:
                raise PlanError('NVIDIA\'s PyPI compiler (nvidia/cu*/bin/nvcc) is not installed in this venv.')
            print(lay_out_cuda_home(args.cuda_home, root))
        else:
            machine = probe(args.venv_cuda_home)
            plan = decide(machine)
            print(_shell(plan, wheel_dir(plan['cache_tag'], args.mmcv_version, machine['torch_version']))
                  if args.shell else plan)
    except PlanError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
