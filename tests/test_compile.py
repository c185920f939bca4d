"""--compile compiles the model's tensor path in place (training/compiling.py): the first step compiles, later steps
compile nothing, the checkpoints are an eager run's, a run continues with or without it, its checkpoint evaluates,
and two processes train with it. What it pays is measured by `tools/benchmark.py --compile` (docs/benchmarks.md)."""
import logging
import subprocess
import sys

import pytest
import torch

from conftest import REPO, final_miou, run_script, run_tool

pytestmark = pytest.mark.slow(2)  # (the first step compiles: about a minute on one core, less with inductor's cache)


def eager_state_dict_keys(model):
    """The keys an eager run's checkpoint holds: the state_dict of the model its config builds."""
    from training.experiments import load_script
    from training.project_runner import build_model
    from training.run_config import build_config
    script = load_script(model)
    cfg = build_config(script.config, script.OFFICIAL, ['--smoke'])[0]
    return set(build_model(cfg).state_dict())


def compiled_smoke(model, work_dir, *extra):
    result = run_script(model, '--smoke', '--compile', '--no-val-report', '--work-dir', work_dir, *extra)
    assert result.returncode == 0, result.stderr[-5000:]
    log = result.stdout + result.stderr
    assert '--compile (mode default): backbone, decode_head' in log
    assert '--compile: the first step took' in log
    assert '--compile: 0 graphs compiled after the first step' in log  # zero recompiles after the first step
    assert 'is compiled again' not in log and 'hit the recompile limit' not in log
    return result


@pytest.mark.parametrize('model', ['fcn', 'segformer'])
def test_a_compiled_smoke_compiles_once_and_writes_an_eager_checkpoint(tiny_ade, tmp_path, model):
    compiled_smoke(model, tmp_path / model)
    checkpoint = torch.load(tmp_path / model / 'iter_4.pth', map_location='cpu', weights_only=True)
    assert set(checkpoint['state_dict']) == eager_state_dict_keys(model)


def test_a_compiled_run_continues_eager_and_compiled_and_its_checkpoint_evaluates(tiny_ade, tmp_path):
    work_dir = tmp_path / 'fcn'
    compiled_smoke('fcn', work_dir, '--iters', 2)
    eager = run_script('fcn', '--smoke', '--iters', 4, '--keep-schedule', '--no-val-report', '--work-dir', work_dir)
    assert eager.returncode == 0, eager.stderr[-3000:]
    assert f'continuing from {work_dir}/iter_2.pth' in eager.stderr  # no refusal: --compile is a speed switch
    assert '--compile' not in eager.stdout + eager.stderr
    compiled = compiled_smoke('fcn', work_dir, '--iters', 6, '--keep-schedule')
    assert f'continuing from {work_dir}/iter_4.pth' in compiled.stderr
    final_miou(compiled.stdout)
    evaluated = run_tool('evaluate.py', work_dir / 'iter_6.pth')
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert 'mIoU' in evaluated.stdout
    # MMSeg's own tools/test.py builds its Runner from the recorded config, compile_model key and all: iter_2's, of the
    # compiled run that started the work dir (a continued run's config says resume=True, and tools/test.py would then
    # resume it as MMEngine's Runner does for any resumed config)
    import mmseg
    config = tmp_path / 'fcn_compiled.py'
    config.write_text(torch.load(work_dir / 'iter_2.pth', weights_only=True)['meta']['cfg'])
    tool = f'{mmseg.__path__[0]}/.mim/tools/test.py'
    test = subprocess.run([sys.executable, tool, str(config), str(work_dir / 'iter_2.pth'), '--work-dir',
                           str(tmp_path / 'test')], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert test.returncode == 0, test.stderr[-3000:]
    assert 'mIoU' in test.stdout + test.stderr


def test_two_processes_train_compiled(tiny_ade, tmp_path):
    run = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                          'train_fcn.py', '--smoke', '--iters', '2', '--compile', '--no-val-report', '--work-dir',
                          str(tmp_path / 'fcn')], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-5000:]
    log = run.stdout + run.stderr
    assert 'MMDistributedDataParallel' in log and '--compile: the first step took' in log
    assert '--compile: 0 graphs compiled after the first step' in log
    assert (tmp_path / 'fcn' / 'iter_2.pth').is_file()


def test_a_changed_input_is_named_in_one_paragraph():
    """A compiled part whose input changes after the first step: the paragraph names the function and the input."""
    from training.compiling import RecompileWatch, compile_in_place, recompile_paragraph
    from training import compat

    class Backbone(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, images):
            return self.conv(images).relu()

    class Segmentor(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = Backbone()

    compat.reset_dynamo()
    segmentor = Segmentor()
    assert compile_in_place(segmentor) == (['backbone'], [])
    watch = RecompileWatch()
    logging.getLogger('torch._dynamo').addHandler(watch)
    try:
        segmentor.backbone(torch.randn(2, 3, 16, 16))
        compat.log_recompiles()
        segmentor.backbone(torch.randn(2, 3, 24, 16))  # another crop
    finally:
        logging.getLogger('torch._dynamo').removeHandler(watch)
        compat.reset_dynamo()
    assert watch.messages, 'Dynamo said nothing of the changed input'
    paragraph = recompile_paragraph(watch.messages[0], 37000)
    assert paragraph.startswith('--compile: at iteration 37000, ')
    assert 'forward in' in paragraph and 'test_compile.py' in paragraph, paragraph  # the function and its file
    assert "tensor 'images' size mismatch at index 2. expected 16, actual 24" in paragraph, paragraph
