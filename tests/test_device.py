"""Where a full training lands: never on the CPU silently; TF32 on by default, off with --no-tf32. And the GPU
tools: make gpu-check, tools/gpu_report.sh and their Python steps."""
import math
import sys

import pytest
import torch

from training import cuda_env, launch, speed
from training.errors import UserError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


def test_a_gpu_torch_cannot_use_is_an_error(no_cuda, monkeypatch):
    monkeypatch.setattr(cuda_env, 'gpu_devices', lambda: ['/proc/driver/nvidia/gpus/0000:00:05.0'])
    monkeypatch.setattr(cuda_env, 'driver_version', lambda: '535.104.05')
    monkeypatch.setattr(torch.version, 'cuda', '13.0')
    with pytest.raises(UserError) as error:
        launch.check_device(smoke=False, allow_cpu=False)
    message = str(error.value)
    assert 'driver 535.104.05 is older' in message and '580.65.06' in message and '--allow-cpu' in message
    launch.check_device(smoke=False, allow_cpu=True)  # on purpose: allowed (with a warning)
    launch.check_device(smoke=True, allow_cpu=False)  # --smoke runs on the CPU anyway


def test_no_gpu_at_all_is_said_out_loud(no_cuda, monkeypatch, capsys):
    monkeypatch.setattr(cuda_env, 'gpu_devices', lambda: [])
    launch.check_device(smoke=False, allow_cpu=False)
    assert 'no GPU is visible: this training runs on the CPU' in capsys.readouterr().err
    launch.check_device(smoke=True, allow_cpu=False)
    assert capsys.readouterr().err == ''


def test_tf32_switch():
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        speed.set_tf32(True)
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        speed.set_tf32(False)
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def test_gpu_check_checks_the_gpu_or_says_there_is_none(tmp_path):
    """With a GPU, `make gpu-check` (the op checks only, to stay short) writes results that hold numbers; without
    one it says so and writes nothing."""
    import glob
    import json
    import os
    import subprocess

    from conftest import REPO
    before = sorted(glob.glob(os.path.join(REPO, 'docs', 'gpu_check', '*.json')))
    result = subprocess.run(['make', 'gpu-check', 'GPU_CHECK_ARGS=--no-models'], cwd=REPO, capture_output=True,
                            text=True, timeout=600)
    written = sorted(glob.glob(os.path.join(REPO, 'docs', 'gpu_check', '*.json')))
    if not torch.cuda.is_available():
        assert result.returncode == 0, result.stderr[-2000:]
        assert 'no GPU is visible here' in result.stdout and 'nothing written' in result.stdout
        assert written == before
        return
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: an op out of tolerance, which the report names
    part = json.load(open(os.path.join(REPO, 'docs', 'gpu_check', 'shard-1-of-1-ops.json')))
    assert part['environment']['gpu'] and part['ops']
    for row in part['ops']:  # each op ran on the GPU (no error) and gave a pair of finite differences
        assert 'error' not in row, row
        assert all(math.isfinite(row[key]) for key in ('forward_max_diff', 'backward_max_diff')), row
    assert any(row['ok'] for row in part['ops'])


def test_gpu_check_keeps_each_result_as_it_comes(tmp_path, monkeypatch):
    """A part cut short (its 10-minute slot ends, a model crashes the process) keeps what it measured before."""
    import json

    from training.measure import gpu_check
    monkeypatch.setattr(gpu_check, 'OUT_DIR', str(tmp_path / 'gpu_check'))
    monkeypatch.setattr(gpu_check, 'REPORT', str(tmp_path / 'gpu_check.md'))
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(gpu_check, 'environment', lambda: dict(
        gpu='NVIDIA H100', capability='9.0', memory_gib=79.1, driver='580.159.04', torch=torch.__version__,
        torch_cuda='13.0', cudnn=91900, bf16=True, tf32_matmul=True, mmcv_cuda='13.0', python='3.11'))
    measured = []

    def one_model(model, amp, iters, warmup):
        if len(measured) == 3:
            raise KeyboardInterrupt  # the time limit of the slot
        measured.append(dict(model=model, precision='amp' if amp else 'fp32', ok=True,
                             ours=dict(ms_per_iter_median=100.0 + len(measured), final_loss=4.9)))
        return measured[-1]
    monkeypatch.setattr(gpu_check, 'check_model', one_model)
    with pytest.raises(KeyboardInterrupt):
        gpu_check.main(['--no-ops', '--models', 'fcn', 'psanet'])
    part = json.load(open(tmp_path / 'gpu_check' / 'models-fcn-psanet.json'))
    assert [(row['model'], row['precision']) for row in part['models']] == [
        ('fcn', 'fp32'), ('fcn', 'amp'), ('psanet', 'fp32')]
    report = open(tmp_path / 'gpu_check.md').read()
    assert '| psanet | fp32 | 102.0 |' in report and 'NVIDIA H100' in report


def test_the_gpu_report_command_says_there_is_no_gpu_and_keeps_nothing(tmp_path):
    """tools/gpu_report.sh on a machine without a GPU: the environment, then one line, exit 0, no file left."""
    import os
    import subprocess

    from conftest import REPO
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU: the report would run for real')
    result = subprocess.run(['bash', 'tools/gpu_report.sh'], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, 'OUT': str(tmp_path / 'out')})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert '==> [gpu_report' in result.stdout and 'torch ' in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith('gpu_report: no GPU is visible here')
    assert not os.path.exists(os.path.join(REPO, 'docs', 'gpu_report'))
    assert not (tmp_path / 'out').exists() or [p.name for p in (tmp_path / 'out').iterdir()] == ['report.log']


def test_the_gpu_reports_python_steps():
    """What tools/gpu_report.sh asks of training/measure/gpu_report.py before and after the install."""
    import subprocess

    from conftest import REPO
    from training.experiments import all_names

    def step(*args):
        result = subprocess.run([sys.executable, '-m', 'training.measure.gpu_report', *args], cwd=REPO,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout.splitlines()
    environment = step('environment')
    assert environment[0].startswith(f'python {sys.version.split()[0]} at {sys.executable}')
    assert environment[1].startswith(f'torch {torch.__version__} at ') and 'GPU visible: ' in environment[1]
    assert any(line.startswith('pybind11 package') for line in environment)
    others = step('other-models', 'fcn', 'psanet')
    assert others == [m for m in all_names() if m not in ('fcn', 'psanet')] and len(others) == len(all_names()) - 2


def test_the_ext_diagnosis_reports_each_part(tmp_path):
    """training/install/ext_diagnosis.py on this venv's (working) MMCV: every part runs and says what it found."""
    from training.install.ext_diagnosis import diagnose
    report = diagnose(sys.executable, probe=False)
    assert '== faulthandler (exit 0)' in report  # the probe call returns here: no crash
    assert '== backtrace (exit ' in report
    loaded = report.split('== what is loaded, and from where (exit 0)\n')[1]
    assert f'torch {torch.__version__} ' in loaded and '_ext files: [' in loaded and 'libtorch' in loaded
    assert 'pybind11 keys in libtorch_python.so: [\'__pybind11_internals_v' in loaded
