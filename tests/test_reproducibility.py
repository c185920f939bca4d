"""Reproducible by default (training/reproducibility.py): the same command trains the same weights, bit for bit on the
CPU, whatever the number of loader workers, and a run continued from a checkpoint trains what the run left alone
trains, for models with stochastic layers and for two processes too. (A SIGTERM midway and a kill -9: test_preemption
and test_resume compare their runs with the same reference.)"""
import shutil
import subprocess
import sys

import pytest
import torch

from conftest import REFERENCE_ITERS, REPO, different_weights, final_miou, run_script, scalars

pytestmark = pytest.mark.slow(1)  # (minutes, the module's tests together)


def _fcn(tmp_path, *args):
    work_dir = tmp_path / 'fcn'
    result = run_script('fcn', '--smoke', '--iters', REFERENCE_ITERS, '--work-dir', work_dir, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, work_dir / f'iter_{REFERENCE_ITERS}.pth'


def test_two_runs_of_one_command_train_the_same_weights(fcn_reference, tmp_path):
    result, checkpoint = _fcn(tmp_path)
    assert different_weights(checkpoint, fcn_reference) == []
    validations = [[r for r in scalars(path.parent) if 'mIoU' in r] for path in (checkpoint, fcn_reference)]
    assert validations[0] and [r['mIoU'] for r in validations[0]] == [r['mIoU'] for r in validations[1]]
    assert final_miou(result.stdout) == round(validations[1][-1]['mIoU'], 2)


def test_the_number_of_loader_workers_changes_nothing(fcn_reference, tmp_path):
    _, checkpoint = _fcn(tmp_path, '--cfg-options', 'train_dataloader.num_workers=2',
                         'train_dataloader.persistent_workers=True')
    assert different_weights(checkpoint, fcn_reference) == []


def test_another_seed_trains_other_weights_and_the_seed_is_everywhere(fcn_reference, tmp_path):
    result, checkpoint = _fcn(tmp_path, '--seed', 1, '--no-val-report')
    assert different_weights(checkpoint, fcn_reference)  # (every tensor, in practice)
    assert not (checkpoint.parent / 'validation').exists()  # (--no-val-report: no panels, no per-class lines)
    saved = torch.load(checkpoint, weights_only=True)
    assert saved['meta']['seed'] == 1 and saved['rng_states']['seed'] == 1
    assert 'seed: 1\n' in result.stdout + result.stderr  # MMEngine's log of the run's environment
    printed = run_script('fcn', '--print-config', '--seed', 1)
    assert 'randomness = dict(seed=1)' in printed.stdout
    assert 'randomness = dict(seed=0)' in run_script('fcn', '--print-config').stdout  # the default: fixed


def test_deterministic_sets_what_it_promises_and_changes_nothing_on_the_cpu(fcn_reference, tmp_path):
    printed = run_script('fcn', '--print-config', '--deterministic').stdout
    assert 'randomness = dict(deterministic=True, seed=0)' in printed and 'cudnn_benchmark=False' in printed
    _, checkpoint = _fcn(tmp_path, '--deterministic')
    assert different_weights(checkpoint, fcn_reference) == []


def _continued_from(checkpoint, work_dir):
    """A new work dir holding only `checkpoint`: the same command continues from it, as after a crash."""
    work_dir.mkdir(parents=True)
    shutil.copy(checkpoint, work_dir)
    return work_dir


@pytest.mark.parametrize('model', ['segformer', 'pointrend', 'mask2former'])  # drop path; point sampling; both
def test_a_resumed_model_with_stochastic_layers_trains_the_same_weights(model, tiny_ade, tmp_path):
    args = ['--smoke', '--iters', 4, '--cfg-options', 'default_hooks.checkpoint.interval=2']
    alone = run_script(model, *args, '--work-dir', tmp_path / 'alone')
    assert alone.returncode == 0, alone.stderr[-3000:]
    resumed_dir = _continued_from(tmp_path / 'alone' / 'iter_2.pth', tmp_path / 'resumed')
    resumed = run_script(model, *args, '--work-dir', resumed_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'random states restored from the checkpoint (iteration 2)' in resumed.stdout + resumed.stderr
    assert different_weights(resumed_dir / 'iter_4.pth', tmp_path / 'alone' / 'iter_4.pth') == []


@pytest.mark.slow(1)
def test_two_processes_resume_exactly_per_rank(tiny_ade, tmp_path):
    def torchrun(work_dir):
        result = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                                 'train_segformer.py', '--smoke', '--iters', '4', '--work-dir', str(work_dir),
                                 '--cfg-options', 'default_hooks.checkpoint.interval=2'],
                                cwd=REPO, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
        return work_dir / 'iter_4.pth'
    alone = torchrun(tmp_path / 'alone')
    resumed = torchrun(_continued_from(tmp_path / 'alone' / 'iter_2.pth', tmp_path / 'resumed'))
    assert different_weights(resumed, alone) == []
    states = [torch.load(path, weights_only=True)['rng_states']['ranks'] for path in (alone, resumed)]
    assert len(states[0]) == 2 and not torch.equal(states[0][0]['torch'], states[0][1]['torch'])  # a stream a rank
    for alone_rank, resumed_rank in zip(*states):  # and each rank's where it would be, had the run not stopped
        assert torch.equal(alone_rank['torch'], resumed_rank['torch']) and alone_rank['numpy'] == resumed_rank['numpy']


def test_the_operations_without_a_deterministic_cuda_kernel_are_found_per_model():
    """tools/deterministic_ops.py (README's list): found in a real training step, under torch's own conditions."""
    from training.measure.deterministic_ops import training_step_calls
    fcn, pspnet = training_step_calls('fcn'), training_step_calls('pspnet')
    assert set(fcn) == {'F.interpolate backward, linear/bilinear/bicubic/trilinear'}  # (MMSeg's loss: reduction none)
    assert pspnet['AdaptiveAvgPool2d backward'] == 4  # the pyramid pooling module's four scales
