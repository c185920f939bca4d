"""export.py (training/onnx_export.py): smoke checkpoints to ONNX, checked in onnxruntime against PyTorch on the tiny
subset's validation images; a dynamic export run at other sizes; infer.py --onnx; a broken checkpoint refused."""
import json

import numpy as np
import pytest

from conftest import run_script, run_tool, user_error

pytestmark = pytest.mark.slow(1.5)  # (minutes; the longest start first: conftest.py)

SIZE = '64x64'  # the smoke crop's scale


def _exported(result):
    """The .onnx path export.py wrote, from its first line."""
    return result.stdout.splitlines()[0].split(':')[0]


def _check_line(result, size=SIZE):
    return next(line for line in result.stdout.splitlines() if line.startswith(f'check at {size} '))


def _agreement(line):
    return float(line.split('labels agree on ')[1].split('%')[0])


@pytest.mark.parametrize('model', ['psanet', 'segformer', 'mask2former', 'maskformer', 'knet'])
def test_a_smoke_checkpoint_exports_to_standard_onnx_and_passes_the_check(model, tiny_ade, tmp_path):
    work_dir = tmp_path / model
    trained = run_script(model, '--smoke', '--iters', 1, '--no-val-report', '--work-dir', work_dir,
                         '--cfg-options', 'default_hooks.checkpoint.save_best=None')
    assert trained.returncode == 0, trained.stderr[-3000:]
    result = run_tool('export.py', str(work_dir), '--shape', SIZE, '--images', 4)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert _agreement(_check_line(result)) >= 99.9
    import onnx
    graph = onnx.load(_exported(result))
    assert {node.domain for node in graph.graph.node} <= {'', 'ai.onnx'}  # no custom op domain
    assert graph.opset_import[0].version == 17


def test_fcn_exports_with_its_metadata_and_infer_runs_the_file(fcn_smoke, tmp_path):
    work_dir, _ = fcn_smoke
    out = tmp_path / 'fcn.onnx'
    result = run_tool('export.py', str(work_dir), '--shape', SIZE, '--out', str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    line = _check_line(result)
    assert _agreement(line) >= 99.9 and 'on 8 validation images' in line
    difference = float(line.split('largest logit difference ')[1].split(',')[0])
    assert difference < 1e-3
    from training.onnx_export import read_metadata
    properties = read_metadata(str(out))
    assert properties['model'] == 'fcn' and properties['size'] == SIZE
    assert json.loads(properties['mean']) == pytest.approx([123.675, 116.28, 103.53])
    assert len(json.loads(properties['classes'])) == 150

    images = tmp_path / 'images'
    images.mkdir()
    from PIL import Image
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8)).save(images / 'a.jpg')
    drawn = run_tool('infer.py', '--onnx', str(out), str(images), '--out', str(tmp_path / 'predictions'))
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    mask = np.asarray(Image.open(tmp_path / 'predictions' / 'a_mask.png'))
    assert mask.shape == (90, 120, 3) and (tmp_path / 'predictions' / 'a_overlay.png').is_file()


def test_a_dynamic_fcn_export_runs_at_two_sizes(fcn_smoke, tmp_path):
    work_dir, _ = fcn_smoke
    out = tmp_path / 'fcn_dynamic.onnx'
    result = run_tool('export.py', str(work_dir), '--shape', SIZE, '--dynamic', '--argmax', '--images', 4,
                      '--out', str(out))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert _agreement(_check_line(result, '64x64')) >= 99.9 and _agreement(_check_line(result, '128x32')) >= 99.9
    from training.onnx_export import session
    runner = session(str(out))
    for height, width in ((48, 80), (96, 64)):
        [labels] = runner.run(None, {'image': np.zeros((2, 3, height, width), np.float32)})
        assert labels.shape == (2, height, width) and labels.dtype == np.int64


@pytest.mark.parametrize('damage', ['truncated', 'not a checkpoint'])
def test_a_broken_checkpoint_gets_one_paragraph_and_exit_2(fcn_smoke, tmp_path, damage):
    work_dir, _ = fcn_smoke
    broken = tmp_path / 'broken.pth'
    data = next(work_dir.glob('iter_*.pth')).read_bytes()
    broken.write_bytes(data[:len(data) // 3] if damage == 'truncated' else b'not a checkpoint at all')
    result = run_tool('export.py', str(broken), '--model', 'fcn')
    user_error(result, f'{broken} cannot be read as a checkpoint')
    assert not (tmp_path / 'export').exists()
