"""The protocol of every script, read from `--print-config` as a user would see it."""
import pytest
from mmengine.config import Config

from conftest import MODELS, run_script

# The official recipes' schedule lengths (MMSeg 1.2.2 configs named in each script's docstring).
OFFICIAL_ITERS = {
    'fcn': 80000, 'pspnet': 80000, 'deeplabv3plus': 80000, 'upernet': 80000, 'ocrnet': 80000,
    'gcnet': 80000, 'isanet': 80000, 'nonlocal': 80000, 'dnlnet': 80000, 'psanet': 80000,
    'vit_deit': 80000, 'knet': 80000, 'fastfcn': 80000, 'stdc': 80000,
    'segformer': 160000, 'mask2former': 160000, 'swin': 160000, 'segmenter': 160000, 'segnext': 160000,
    'setr': 160000, 'maskformer': 160000, 'pointrend': 160000, 'mobilenetv2': 160000, 'resnest': 160000,
    'sem_fpn': 160000, 'twins': 160000,
    'poolformer': 40000,  # the official PoolFormer recipe is 40k
}


def test_every_script_has_an_official_schedule():
    assert set(MODELS) == set(OFFICIAL_ITERS)


@pytest.fixture(scope='module', params=MODELS)
def printed(request, tmp_path_factory):
    model = request.param
    result = run_script(model, '--print-config')
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp(model) / 'printed.py'
    path.write_text(result.stdout)
    return model, Config.fromfile(str(path))  # stdout must be a valid MMEngine config and nothing else


def _class_counts(node):
    """num_classes of every head in a model config (heads can be lists or nested, e.g. K-Net's)."""
    if isinstance(node, dict):
        own = [(node.get('type'), node['num_classes'])] if 'num_classes' in node else []
        return own + [c for value in node.values() for c in _class_counts(value)]
    if isinstance(node, (list, tuple)):
        return [c for value in node for c in _class_counts(value)]
    return []


def _crop_sizes(pipeline):
    return [tuple(step['crop_size']) for step in pipeline if step['type'] == 'RandomCrop']


def test_protocol(printed):
    model, cfg = printed
    train_set = cfg.train_dataloader.dataset
    while 'dataset' in train_set:
        train_set = train_set.dataset
    assert cfg.train_dataloader.batch_size == 2
    assert _crop_sizes(train_set.pipeline) == [(512, 512)]
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    if cfg.model.test_cfg.get('mode') == 'slide':
        assert tuple(cfg.model.test_cfg.crop_size) == (512, 512)
    assert cfg.train_cfg.val_interval == 4000
    assert cfg.default_hooks.checkpoint.interval == 4000
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        while 'dataset' in dataset:
            dataset = dataset.dataset
        assert dataset.data_root == 'data/ade/ADEChallengeData2016'
    assert cfg.work_dir == f'work_dirs/{model}_ade20k'
    counts = _class_counts(cfg.model)
    assert counts and all(n == 150 for head, n in counts if head != 'STDCHead'), counts
    assert all(n == 2 for head, n in counts if head == 'STDCHead')  # STDC's binary boundary head
    assert cfg.train_cfg.max_iters == OFFICIAL_ITERS[model]
    assert cfg.param_scheduler[-1].end == OFFICIAL_ITERS[model]


def test_command_line_overrides(tmp_path):
    result = run_script('fcn', '--print-config', '--iters', '1000', '--work-dir', tmp_path / 'w',
                        '--data-root', tmp_path / 'ade', '--no-pretrain',
                        '--cfg-options', 'optim_wrapper.optimizer.lr=0.02')
    assert result.returncode == 0, result.stderr
    (tmp_path / 'c.py').write_text(result.stdout)
    cfg = Config.fromfile(str(tmp_path / 'c.py'))
    assert cfg.train_cfg.max_iters == 1000
    assert cfg.param_scheduler[0].end == 1000         # the LR schedule follows --iters
    assert cfg.train_cfg.val_interval == 1000          # at least one validation in a short run
    assert cfg.work_dir == str(tmp_path / 'w')
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path / 'ade')
    assert cfg.model.backbone.init_cfg is None and cfg.model.pretrained is None
    assert cfg.optim_wrapper.optimizer.lr == 0.02


def test_smoke_config_is_small(tmp_path):
    result = run_script('segformer', '--print-config', '--smoke')
    assert result.returncode == 0, result.stderr
    (tmp_path / 'c.py').write_text(result.stdout)
    cfg = Config.fromfile(str(tmp_path / 'c.py'))
    assert cfg.work_dir == 'work_dirs/segformer_ade20k_smoke'
    assert cfg.train_dataloader.dataset.data_root == cfg.data_root == 'data/ade_tiny/ADEChallengeData2016'
    assert tuple(cfg.model.data_preprocessor.size) == (64, 64)
    assert cfg.model.backbone.init_cfg is None
    # warm-up and poly decay both stay inside the shortened schedule
    assert [s.end for s in cfg.param_scheduler] == [1, 4]


def test_auto_scale_lr_uses_the_official_total_batch(tiny_ade, tmp_path):
    result = run_script('segmenter', '--print-config', '--auto-scale-lr')
    assert result.returncode == 0, result.stderr
    (tmp_path / 'c.py').write_text(result.stdout)
    assert Config.fromfile(str(tmp_path / 'c.py')).auto_scale_lr == dict(enable=True, base_batch_size=8)
    run = run_script('fcn', '--smoke', '--iters', 1, '--auto-scale-lr', '--work-dir', tmp_path / 'w')
    assert run.returncode == 0, run.stderr[-3000:]
    log = run.stdout + run.stderr
    assert 'Scaling the original LR by 0.125' in log  # 1 process x 2 images vs the official 16
