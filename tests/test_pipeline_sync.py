"""The top-level pipelines and the data loaders' pipelines stay one (training/config.py): an edit on either side
reaches the other, whether a step is changed in place, a list replaced, or --cfg-options used."""
from training.config import innermost_dataset, sync_pipelines
from training.experiments import load_script
from training.run_config import build_config


def _fcn():
    return load_script('fcn').config()


def test_an_edited_step_is_one_step_in_both_places():
    cfg = _fcn()
    cfg.train_pipeline[3].cat_max_ratio = 1.0  # RandomCrop, edited through the top-level copy
    assert innermost_dataset(cfg.train_dataloader).pipeline[3].cat_max_ratio == 1.0
    cfg.val_dataloader.dataset.pipeline[1].keep_ratio = False  # Resize, edited through a loader
    assert cfg.test_pipeline[1].keep_ratio is False and cfg.test_dataloader.dataset.pipeline[1].keep_ratio is False


def test_a_replaced_top_level_pipeline_is_adopted_by_the_loaders():
    cfg = _fcn()
    cfg.test_pipeline = [step for step in cfg.test_pipeline if step.type != 'LoadAnnotations'][:1] + \
        cfg.test_pipeline[1:]  # a new list (same steps, one dropped and put back: a restructure)
    cfg.test_pipeline.insert(2, dict(type='ResizeToMultiple', size_divisor=32))
    sync_pipelines(cfg)
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert [step.type for step in loader.dataset.pipeline] == [step.type for step in cfg.test_pipeline]
        assert 'ResizeToMultiple' in [step.type for step in loader.dataset.pipeline]


def test_cfg_options_on_a_loader_pipeline_reach_the_top_level_copy():
    script = load_script('fcn')
    cfg, _ = build_config(script.config, script.OFFICIAL,
                          ['--cfg-options', 'train_dataloader.dataset.pipeline.3.cat_max_ratio=0.5'])
    assert cfg.train_pipeline[3].cat_max_ratio == 0.5
    cfg, _ = build_config(script.config, script.OFFICIAL, ['--cfg-options', 'test_pipeline.1.keep_ratio=False'])
    assert cfg.val_dataloader.dataset.pipeline[1].keep_ratio is False
