"""evaluate.py, infer.py and summarize.py on a run trained on the tiny subset."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import final_miou, run_tool


@pytest.fixture(scope='module')
def trained_run(fcn_smoke):
    work_dir, result = fcn_smoke  # `train_fcn.py --smoke` (4 iterations), shared with test_smoke.py
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir, final_miou(result.stdout)


def test_evaluate_reproduces_the_validation_of_training(trained_run):
    work_dir, miou = trained_run
    result = run_tool('evaluate.py', work_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((work_dir / 'eval_best_mIoU_iter_4.json').read_text())
    assert report['mIoU'] == pytest.approx(miou, abs=0.01)
    assert {'aAcc', 'mAcc', 'per_class_IoU'} <= report.keys() and len(report['per_class_IoU']) == 150
    present = {k: v for k, v in report['per_class_IoU'].items() if v is not None}
    assert 'wall' in present and len(present) < 150  # classes of the tiny subset only
    assert '| wall |' in (work_dir / 'eval_best_mIoU_iter_4.md').read_text()


def test_evaluate_aug_test(trained_run):
    work_dir, _ = trained_run
    result = run_tool('evaluate.py', work_dir / 'iter_4.pth', '--aug-test')
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((work_dir / 'eval_iter_4_aug.json').read_text())['aug_test'] is True


def test_a_copied_checkpoint_evaluates_anywhere(trained_run, tmp_path):
    shutil.copy(trained_run[0] / 'iter_4.pth', tmp_path / 'copied.pth')  # plain types: nothing to trust
    result = run_tool('evaluate.py', tmp_path / 'copied.pth')
    assert result.returncode == 0, result.stderr[-3000:]


def test_an_old_format_checkpoint_outside_its_run_is_not_trusted(trained_run, tmp_path):
    # checkpoints written before the plain-type format pickle getattr(...) in MMEngine's HistoryBuffers: allowed
    # only for a run's own checkpoints (beside last_checkpoint)
    import torch

    from training.checkpoint_format import from_plain_types
    checkpoint = torch.load(trained_run[0] / 'iter_4.pth', weights_only=True)
    checkpoint['message_hub'] = from_plain_types(checkpoint['message_hub'])
    torch.save(checkpoint, tmp_path / 'downloaded.pth')
    result = run_tool('evaluate.py', tmp_path / 'downloaded.pth')
    assert result.returncode == 2 and 'Traceback' not in result.stderr
    assert 'cannot be read as a checkpoint without trusting it: it pickles getattr' in result.stderr


def test_infer_writes_masks_and_overlays(trained_run, tiny_ade, tmp_path):
    images = f'{tiny_ade}/images/validation'
    result = run_tool('infer.py', trained_run[0], images, '--out', tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    masks = sorted(tmp_path.glob('*_mask.png'))
    assert len(masks) == 8 and len(list(tmp_path.glob('*_overlay.png'))) == 8
    from mmseg.datasets import ADE20KDataset
    palette = {tuple(c) for c in ADE20KDataset.METAINFO['palette']}
    colours = {tuple(c) for c in np.asarray(Image.open(masks[0])).reshape(-1, 3)}
    assert colours <= palette
    overlay = Image.open(tmp_path / 'ADE_val_00000001_overlay.png')
    assert overlay.width > Image.open(f'{images}/ADE_val_00000001.jpg').width  # the legend beside the image


def test_summarize_lists_a_smoke_run_beside_the_official_miou_without_comparing(trained_run, tmp_path):
    work_dir, miou = trained_run
    for where in (['--work-dirs', work_dir.parent], [work_dir]):  # every <model>_ade20k of a folder; one run
        result = run_tool('summarize.py', *where, '--out', tmp_path / 'results.md')
        assert result.returncode == 0, result.stderr[-3000:]
    row = [line for line in (tmp_path / 'results.md').read_text().splitlines() if line.startswith('| fcn |')][0]
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[1] == 'smoke' and float(cells[2]) == pytest.approx(miou, abs=0.01) and cells[3] == '4'
    assert cells[4] == '35.94' and cells[5] == '— (smoke run)'  # the recipe's figure, never a difference to it
    assert 'not comparable with the official mIoU' in (tmp_path / 'results.md').read_text()
    assert (tmp_path / 'results.png').stat().st_size > 1000


def test_summarize_compares_a_full_run_with_the_official_miou(tmp_path):
    import summarize
    rows = [dict(model='fcn', official=35.94, best_miou=36.5, best_iter=80000, hours=20.0, memory_mb=9000,
                 smoke=False),
            dict(model='stdc', official=None, best_miou=30.0, best_iter=80000, hours=10.0, memory_mb=None,
                 smoke=False)]
    lines = summarize.write_table(rows, tmp_path / 'results.md')
    assert '| fcn | full | 36.50 | 80000 | 35.94 | +0.56 | 20.00 | 9000 | — |' in lines
    assert '| stdc | full | 30.00 | 80000 | — | — | 10.00 | — | — |' in lines and not any('Note' in line for line in lines)
