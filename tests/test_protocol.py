"""The protocol of every script, read from `--print-config` as a user would see it, and each script's OFFICIAL
figures and knob comments checked against the recipes they name."""
import re

import pytest
from mmengine.config import Config

from conftest import MODELS, REPO, run_script
from training.config import innermost_dataset
from training.experiments import load_script

# The official recipes' schedule lengths: MMSeg 1.2.2's configs, ViT-Adapter's and SeMask's own repositories.
OFFICIAL_ITERS = {
    'fcn': 80000, 'pspnet': 80000, 'deeplabv3plus': 80000, 'upernet': 80000, 'ocrnet': 80000,
    'gcnet': 80000, 'isanet': 80000, 'nonlocal': 80000, 'dnlnet': 80000, 'psanet': 80000,
    'knet': 80000, 'fastfcn': 80000, 'stdc': 80000, 'sem_fpn': 80000,
    'segformer': 160000, 'mask2former': 160000, 'swin': 160000, 'segmenter': 160000, 'segnext': 160000,
    'setr': 160000, 'maskformer': 160000, 'pointrend': 160000, 'mobilenetv2': 160000, 'resnest': 160000,
    'twins': 160000, 'vit_deit': 160000,
    'poolformer': 40000,  # the official PoolFormer recipe is 40k
}


def test_every_script_has_an_official_schedule():
    assert set(MODELS) == set(OFFICIAL_ITERS)
    for model in MODELS:
        assert load_script(model).OFFICIAL['iters'] == OFFICIAL_ITERS[model], model


@pytest.mark.parametrize('model', [m for m in MODELS if str(load_script(m).OFFICIAL['config']).startswith('mmseg::')])
def test_official_figures_match_the_mmseg_recipe(model):
    official = load_script(model).OFFICIAL
    recipe = Config.fromfile(_packaged(official['config']))
    assert recipe.train_cfg.max_iters == official['iters']
    gpus, per_gpu = map(int, re.search(r'_(\d+)xb(\d+)-', official['config']).groups())
    assert gpus * per_gpu == official['total_batch'] == recipe.train_dataloader.batch_size * gpus
    with open(f'{REPO}/configs/{model}.py') as f:
        assert f"'{official['config']}'" in f.read()  # configs/<model>.py inherits the recipe it names


def _packaged(config):
    import mmseg
    return config.replace('mmseg::', f'{mmseg.__path__[0]}/.mim/configs/')


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
    train_set = innermost_dataset(cfg.train_dataloader)
    assert cfg.train_dataloader.batch_size == 2
    assert _crop_sizes(train_set.pipeline) == [(512, 512)]
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    if cfg.model.test_cfg.get('mode') == 'slide':
        assert tuple(cfg.model.test_cfg.crop_size) == (512, 512)
    assert cfg.train_cfg.val_interval == 4000
    assert cfg.default_hooks.checkpoint.interval == 4000
    assert cfg.default_hooks.checkpoint.save_best == 'mIoU'
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert innermost_dataset(cfg[loader]).data_root == 'data/ade/ADEChallengeData2016'
    assert cfg.work_dir == f'work_dirs/{model}_ade20k'
    counts = _class_counts(cfg.model)
    assert counts and all(n == 150 for head, n in counts if head != 'STDCHead'), counts
    assert all(n == 2 for head, n in counts if head == 'STDCHead')  # STDC's binary boundary head
    assert cfg.train_cfg.max_iters == OFFICIAL_ITERS[model]
    assert cfg.param_scheduler[-1].end == OFFICIAL_ITERS[model]
    # the top-level pipelines are the ones the loaders run (MMSeg's inference_model reads cfg.test_pipeline)
    assert cfg.train_pipeline == train_set.pipeline
    assert cfg.test_pipeline == innermost_dataset(cfg.val_dataloader).pipeline


KNOB_COMMENT = re.compile(r'^\s*# (cfg\.[\w.\[\]]+) = (.+?)\s+# recipe: (.+)$', re.MULTILINE)


@pytest.mark.parametrize('model', MODELS)
def test_knob_examples_name_the_recipe_values(model):
    """Each commented example in a script's config() states the value its recipe has, and setting the example
    changes it (so uncommenting it is an edit that takes)."""
    script = load_script(model)
    with open(f'{REPO}/train_{model}.py') as f:
        examples = KNOB_COMMENT.findall(f.read())
    assert 2 <= len(examples) <= 4, model
    cfg = script.config()
    for target, example, recipe in examples:
        current = eval(target, {'cfg': cfg})
        assert _same(current, eval(recipe)), (model, target, current, recipe)
        assert not _same(eval(example), eval(recipe)), (model, target)


def _same(a, b):
    a = list(a) if isinstance(a, (tuple, list)) else a
    b = list(b) if isinstance(b, (tuple, list)) else b
    return a == pytest.approx(b) if isinstance(a, float) or isinstance(b, float) else a == b


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
    assert cfg.test_pipeline[1].scale == (256, 64)  # the resizes scale with the crop, top-level copy included
    assert cfg.model.backbone.init_cfg is None
    # the 1500-iteration warm-up would last a fraction of one of 4 iterations: dropped; the decay stays inside
    assert [(s.type, s.begin, s.end) for s in cfg.param_scheduler] == [('PolyLR', 0, 4)]


def test_auto_scale_lr_uses_the_official_total_batch(tiny_ade, tmp_path):
    result = run_script('segmenter', '--print-config', '--auto-scale-lr')
    assert result.returncode == 0, result.stderr
    (tmp_path / 'c.py').write_text(result.stdout)
    assert Config.fromfile(str(tmp_path / 'c.py')).auto_scale_lr == dict(enable=True, base_batch_size=8)
    run = run_script('fcn', '--smoke', '--iters', 1, '--auto-scale-lr', '--work-dir', tmp_path / 'w')
    assert run.returncode == 0, run.stderr[-3000:]
    log = run.stdout + run.stderr
    assert 'Scaling the original LR by 0.125' in log  # 1 process x 2 images vs the official 16
