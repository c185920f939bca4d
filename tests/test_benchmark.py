"""tools/benchmark.py (training/measure/: benchmark.py, its command line; training_speed.py, timing.py...) and the
speed switches (training/speed.py). Timings are printed, never asserted."""
import json
import math
import threading

import pytest
import torch

from conftest import run_script, run_tool


def _benchmark(*args):
    result = run_tool('tools/benchmark.py', *args)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{')]


@pytest.mark.slow(1)
def test_benchmark_vs_official_prints_both_sides_and_their_ratio(tiny_ade, tmp_path):
    table = tmp_path / 'bench.md'
    [result] = _benchmark('fcn', '--vs-official', '--iters', 3, '--warmup', 1, '--crop', 64, '--markdown', table)
    ours, official, ratio = result['ours'], result['official'], result['ratio']
    for side in (ours, official):
        assert side['iters'] == 3 and side['batch'] == 2 and side['crop'] == 64
        assert 0 < side['ms_per_iter_median'] <= side['ms_per_iter_p90']
        assert side['images_per_s'] == pytest.approx(2000 / side['ms_per_iter_median'], rel=0.01)
        assert side['peak_mem_mb'] > 100 and side['gflops_per_image'] > 0 and side['tflops_achieved'] > 0
        assert side['torch'] == torch.__version__ and math.isfinite(side['final_loss'])
    assert ratio['ms_per_iter_median'] == pytest.approx(
        ours['ms_per_iter_median'] / official['ms_per_iter_median'], abs=0.001)
    assert ours['workers'] >= 1
    assert table.read_text().splitlines()[2].startswith('| fcn | ')


@pytest.mark.slow(1)
def test_paired_benchmark_steps_both_sides_in_one_process_and_crosses_over(tiny_ade):
    [result] = _benchmark('fcn', '--vs-official', '--paired', '--repeat', 2, '--iters', 3, '--warmup', 1, '--crop', 64)
    assert result['method'] == 'paired steps'
    for side in (result['ours'], result['official']):
        assert side['iters'] == 3 and side['ms_per_iter_median'] > 0
        assert side['peak_mem_mb'] is None  # the process's memory belongs to both sides
    first, second = result['ratio_ms_per_iter_of_each_run']  # ours stepped first, then official did
    assert result['ratio']['ms_per_iter_median'] == pytest.approx(math.sqrt(first * second), abs=0.002)
    assert 'peak_mem_mb' not in result['ratio']


def test_turns_let_one_side_step_at_a_time_and_a_failed_side_drop_out():
    from training.measure.timing import Turns
    turns, order = Turns(['ours', 'official']), []

    def side(label, steps, fails_at=None):
        try:
            for step in range(steps):
                turns.wait(label)
                if step == fails_at:
                    raise RuntimeError('diverged')
                order.append(label)
                turns.pass_on(label)
        except RuntimeError:
            pass
        finally:
            turns.pass_on(label, finished=True)

    threads = [threading.Thread(target=side, args=('official', 4, 2)), threading.Thread(target=side, args=('ours', 4))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert order == ['ours', 'official', 'ours', 'official', 'ours', 'ours']


def test_benchmark_names_the_official_config_and_rejects_unknown_models():
    from training.measure import training_speed
    assert training_speed.official_base('fcn') == 'mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py'
    assert training_speed.official_base('stdc') is None  # adapted from Cityscapes: nothing official to compare
    assert training_speed.official_base('vit_deit') is None  # ported from its authors' code: no MMSeg recipe
    result = run_tool('tools/benchmark.py', 'fcnn')
    assert result.returncode == 2 and 'unknown model(s) fcnn' in result.stderr


def test_data_pipeline_throughput_is_measured_on_ade_size_images(tiny_ade):
    [result] = _benchmark('--data-pipeline')
    assert result['crop'] == [512, 512] and result['images_per_s_per_worker'] > 0
    assert result['workers_for_batch2_at_50ms'] >= result['workers_for_batch2_at_100ms'] >= 1
    # training's stream (each sample's augmentation seeded by its position) against the same pipeline unseeded
    assert result['images_per_s_per_worker_unseeded'] > 0 and isinstance(result['seeding_cost_percent'], float)


def test_amp_picks_bf16_where_supported_and_fp16_otherwise(monkeypatch):
    from training import speed
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert speed.amp_dtype() == 'bfloat16'
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert speed.amp_dtype() == 'float16'


def test_loader_workers_share_the_cpus_between_processes(monkeypatch):
    from training import speed
    monkeypatch.setattr(speed.os, 'sched_getaffinity', lambda pid: set(range(16)))
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    monkeypatch.delenv('SLURM_NTASKS_PER_NODE', raising=False)
    assert speed.loader_workers() == speed.MAX_LOADER_WORKERS
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '8')
    assert speed.loader_workers() == 1
    monkeypatch.setattr(speed.os, 'sched_getaffinity', lambda pid: {0, 1})
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '1')
    assert speed.loader_workers() == 1


def test_switches_reach_the_config():
    result = run_script('fcn', '--print-config', '--channels-last', '--compile')
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'channels_last = True' in result.stdout and "compile_model = dict(mode='default')" in result.stdout
    assert '\ncompile = ' not in result.stdout  # never MMEngine's own key: it compiles train_step (compiling.py)
    assert 'pin_memory=%s' % torch.cuda.is_available() in result.stdout
    result = run_script('fcn', '--print-config', '--compile-mode', 'reduce-overhead')
    assert result.returncode == 0, result.stderr[-2000:]
    assert "compile_model = dict(mode='reduce-overhead')" in result.stdout


def test_channels_last_is_applied_before_the_model_is_wrapped(tiny_ade, tmp_path):
    from training.run_config import build_config
    from training.project_runner import ProjectRunner, build_runner
    from training.experiments import load_script
    wrapped = []
    original = ProjectRunner.__mro__[1].wrap_model

    def record(self, model_wrapper_cfg, model):  # what MMEngine's wrap_model (DDP) receives
        wrapped.append(model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last))
        return original(self, model_wrapper_cfg, model)
    script = load_script('fcn')
    cfg, _ = build_config(script.config, script.OFFICIAL, ['--smoke', '--iters', '2', '--channels-last',
                                                             '--work-dir', str(tmp_path / 'in_process')])
    try:
        ProjectRunner.__mro__[1].wrap_model = record
        build_runner(cfg)
    finally:
        ProjectRunner.__mro__[1].wrap_model = original
    assert wrapped == [True]
    result = run_script('fcn', '--smoke', '--iters', 2, '--channels-last', '--work-dir', tmp_path / 'run')
    assert result.returncode == 0, result.stderr[-3000:]


def test_amp_is_compared_in_the_same_precision_on_both_sides(monkeypatch):
    from training import speed
    from training.measure import benchmark, training_speed
    monkeypatch.setattr(speed, 'amp_dtype', lambda: 'bfloat16')  # as on an H100
    args = benchmark.parse_args(['fcn', '--amp'])
    official = training_speed.official_config('fcn', args, 10)
    assert official.optim_wrapper.type == 'AmpOptimWrapper' and official.optim_wrapper.dtype == 'bfloat16'
    assert training_speed.our_config('fcn', args, 10).optim_wrapper.dtype == 'bfloat16'
