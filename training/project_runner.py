"""MMEngine's Runner as this project builds it: the differences of ProjectRunner, the project's hooks, checkpoints
written atomically and in plain types. train() (runner.py), tools/benchmark.py and the tests build it here."""
import torch
from mmengine.runner import Runner

from . import compat, mmcv_ops
from .checkpoint_format import BestCheckpointOnce, PlainCheckpoints, write_checkpoints_atomically
from .compiling import CompiledTraining, compile_in_place
from .hooks import BeforeTheFirstStep, LastValidation, StopOnNonFiniteLoss
from .preemption import StopOnSignal, leave_stop_signals_to_the_run
from .reproducibility import RandomStates
from .trackers import TrackerEnd
from .validation_loss import ValidationLoss
from .visualization import ValidationReport
from .resume.new_config import continue_with_new_config


class ProjectRunner(Runner):
    """MMEngine's Runner with the project's differences: channels-last and --compile (compiling.py) before DDP wraps
    the model, resuming under an edited config where the config's resume_with_new_config says so
    (resume/new_config.py), and loader workers that leave SIGTERM/SIGINT to the training process (preemption.py)."""

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        return leave_stop_signals_to_the_run(Runner.build_dataloader(dataloader, seed, diff_rank_seed))

    def wrap_model(self, model_wrapper_cfg, model):
        if self.cfg.get('channels_last'):  # before DDP: its gradient buckets then have the NHWC strides
            model = model.to(memory_format=torch.channels_last)
        if self.cfg.get('compile_model'):  # in place, before DDP wraps the model (compiling.py)
            mode = self.cfg.compile_model.get('mode', 'default')
            compiled, eager = compile_in_place(model, mode)
            self.compiled = CompiledTraining(compiled, mode, eager)  # (build_runner registers it)
        return super().wrap_model(model_wrapper_cfg, model)

    def resume(self, filename, *args, **kwargs):
        if not self.cfg.get('resume_with_new_config'):
            return super().resume(filename, *args, **kwargs)
        with compat.trusting_own_checkpoint():  # checkpoints written before plain types
            checkpoint = compat.load_checkpoint(filename, map_location='cpu')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        continue_with_new_config(self, filename, checkpoint)


def build_runner(cfg, pretrained=None, name=None):
    """The Runner of `cfg` with the project's run-time hooks (hooks.py): the pretrained-weights count and the
    CUDA-kernel check before the first step (`pretrained`: a pretrained.PretrainedFile), the stop on a non-finite loss,
    the random states in every checkpoint (reproducibility.py), the validation loss (validation_loss.py), the panels
    and per-class figures of every validation (visualization.py), plain-type checkpoints written atomically (a new
    best once: checkpoint_format.py), the trackers' end of the run (trackers.py), the stop on SIGTERM/SIGINT, the
    last validation's metrics (the returned LastValidation's `metrics`). tools/benchmark.py times this same Runner."""
    mmcv_ops.make_ops_amp_safe()
    write_checkpoints_atomically()
    compat.forget_visualizer((cfg.get('visualizer') or {}).get('name', 'visualizer'))  # (a run's own, in any process)
    runner = ProjectRunner.from_cfg(cfg)
    last_validation = LastValidation()
    for hook in (StopOnNonFiniteLoss(), RandomStates(), BeforeTheFirstStep(pretrained, name), last_validation,
                 ValidationLoss(), PlainCheckpoints(), TrackerEnd(),
                 StopOnSignal()):  # (StopOnSignal last: after the CheckpointHook of the iteration)
        runner.register_hook(hook)
    checkpoints = next((hook for hook in runner.hooks if BestCheckpointOnce.applies_to(hook)), None)
    if checkpoints is not None:
        runner.register_hook(BestCheckpointOnce(checkpoints))
    if getattr(runner, 'compiled', None):
        runner.register_hook(runner.compiled)
    val_report = cfg.get('val_report') or {}
    if val_report.get('images') or val_report.get('per_class'):
        runner.register_hook(ValidationReport(**val_report))
    return runner, last_validation


def build_model(cfg):
    """The model of `cfg`, built and initialised as the Runner would (pretrained weights loaded)."""
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model
