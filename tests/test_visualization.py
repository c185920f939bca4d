"""Seeing what the model learns (training/visualization.py, training/html_report.py): a smoke run's prediction panels,
per-class lines and TensorBoard images, read back with TensorBoard's own reader; the HTML report's numbers against
the logs; the report in a real headless Chromium (Debian's package, which `make test` installs where missing)."""
import glob
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import run_tool, scalars
from training.visualization import PANEL_HEIGHT, TITLE_HEIGHT

CHOSEN = ['ADE_val_00000001', 'ADE_val_00000003', 'ADE_val_00000005', 'ADE_val_00000007']  # 4 of the 8, evenly


@pytest.fixture(scope='module')
def smoke_run(fcn_smoke):
    work_dir, result = fcn_smoke  # `train_fcn.py --smoke`, shared with test_smoke.py
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir


def test_a_smoke_run_writes_panels_per_class_lines_and_tensorboard_images(smoke_run):
    panels = sorted((smoke_run / 'validation' / 'iter_4').glob('*.png'))
    assert [path.stem for path in panels] == CHOSEN
    for path in panels:
        width, height = Image.open(path).size
        assert height >= TITLE_HEIGHT + PANEL_HEIGHT and width > 3 * 64  # three panels and a legend
    [record] = [json.loads(line) for line in open(smoke_run / 'validation' / 'per_class.jsonl')]
    logged = [r for r in scalars(smoke_run) if 'mIoU' in r][-1]
    present = [value for value in record['IoU'].values() if value is not None]
    assert record['step'] == logged['step'] == 4 and record['mIoU'] == round(logged['mIoU'], 2)
    assert len(record['IoU']) == len(record['Acc']) == 150 and present
    assert np.mean(present) == pytest.approx(logged['mIoU'], abs=0.01)  # MMSeg's mIoU: the mean of these

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    [events] = glob.glob(str(smoke_run / '*' / 'vis_data' / 'events.out.tfevents.*'))
    accumulator = EventAccumulator(events, size_guidance={'images': 0, 'scalars': 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    assert sorted(tags['images']) == [f'val_panels/{name}' for name in CHOSEN]
    [image] = accumulator.Images(f'val_panels/{CHOSEN[0]}')
    assert image.step == 4 and (image.width, image.height) == Image.open(panels[0]).size
    per_class = [tag for tag in tags['scalars'] if tag.startswith('val_per_class/')]
    assert f'val_per_class/IoU.{next(name for name, v in record["IoU"].items() if v is not None)}' in per_class
    assert {'loss', 'mIoU', 'lr'} <= set(tags['scalars']) - set(per_class)  # the main scalars stay as they were


def _report(smoke_run, tmp_path):
    result = run_tool('summarize.py', smoke_run, '--out', tmp_path / 'results.md', '--html', tmp_path / 'report.html')
    assert result.returncode == 0, result.stderr[-3000:]
    return (tmp_path / 'report.html').read_text()


def test_the_html_report_says_what_the_logs_say(smoke_run, tmp_path):
    page = _report(smoke_run, tmp_path)
    best = max(r['mIoU'] for r in scalars(smoke_run) if 'mIoU' in r)
    assert re.search(rf'<a href="#run-fcn">fcn</a></td><td>smoke</td><td class="number">4</td>'
                     rf'<td class="number best-miou">{best:.2f}</td>', page)
    [record] = [json.loads(line) for line in open(smoke_run / 'validation' / 'per_class.jsonl')]
    worst = sorted((value, name) for name, value in record['IoU'].items() if value is not None)
    tables = re.findall(r'<table class="per-class">(.*?)</table>', page)
    shown = re.findall(r'<tr><td>(.*?)</td><td class="number">([\d.]+)</td></tr>', tables[0])
    assert [(name, float(value)) for name, value in shown] == [(name, value) for value, name in worst[:20]]
    assert page.count('data:image/jpeg;base64,') == 4 and page.count('data:image/png;base64,') == 1  # panels, curves
    assert 'src="file:' not in page and 'http' not in page.split('<body>')[1]  # self-contained


def _chromium(*args):
    chromium = shutil.which('chromium')
    assert chromium, 'chromium missing: `make test` installs it where it runs as root; else: sudo apt-get install chromium'
    return subprocess.run([chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                           '--disable-component-update', '--disable-sync', '--no-first-run', *args],
                          capture_output=True, text=True, timeout=120)


def test_the_html_report_shows_every_image_in_a_real_browser(smoke_run, tmp_path):
    _report(smoke_run, tmp_path)
    url = f'file://{tmp_path / "report.html"}'
    dom = _chromium(f'--user-data-dir={tmp_path / "profile-dom"}', '--dump-dom', url)
    loaded = re.search(r'data-images-loaded="(\d+)/(\d+)"', dom.stdout)
    assert loaded and loaded.group(1) == loaded.group(2) == '5', dom.stderr[-2000:]  # curves and 4 panels, all shown
    shot = _chromium(f'--user-data-dir={tmp_path / "profile-shot"}', '--window-size=1280,2000',
                     f'--screenshot={tmp_path / "report.png"}', url)
    assert (tmp_path / 'report.png').is_file(), shot.stderr[-2000:]
    pixels = np.asarray(Image.open(tmp_path / 'report.png').convert('RGB')).astype(float)
    assert pixels.std() > 20 and (pixels < 250).any(axis=2).mean() > 0.1  # not blank: text, curves, panels drawn
