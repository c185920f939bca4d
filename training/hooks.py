"""The project's run-time hooks on MMEngine's Runner (registered by project_runner.build_runner): what a run says and
checks before its first step, the stop on a non-finite loss, and the last validation's metrics."""
import torch
from mmengine.hooks import Hook

from . import mmcv_ops
from .checkpoints import last_good_checkpoint
from .errors import UserError
from .precision import precision_line
from .pretrained import check_loaded


def unwrapped(model):
    """The model inside a DDP wrapper, or the model itself."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


class BeforeTheFirstStep(Hook):
    """After the weights are initialised, before the first step: the log says the precision, which MMCV ops run and
    how many pretrained tensors loaded (`pretrained`: a pretrained.PretrainedFile); a CUDA run checks the compiled
    kernels the model needs."""

    priority = 'LOWEST'

    def __init__(self, pretrained=None, name=None):
        self.pretrained, self.name = pretrained, name

    def before_train(self, runner):
        model = unwrapped(runner.model)
        runner.logger.info(precision_line(runner.cfg.optim_wrapper))
        runner.logger.info(mmcv_ops.ops_line())
        if self.pretrained is not None:
            runner.logger.info(check_loaded(model.backbone, self.pretrained))
            self.pretrained.release()
        if next(model.parameters()).is_cuda:
            mmcv_ops.check_cuda_kernels(model, self.name or 'this model')


class LastValidation(Hook):
    """Keeps the metrics of the last validation (`metrics`), for the line a run prints when it ends."""

    priority = 'LOWEST'

    def __init__(self):
        self.metrics = {}

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})


class StopOnNonFiniteLoss(Hook):
    """Runs before the checkpoint hook (VERY_HIGH): a diverged model is never saved over a good checkpoint."""

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        loss = (outputs or {}).get('loss')
        if loss is not None and not torch.isfinite(loss).all():
            kept = last_good_checkpoint(runner.work_dir)
            raise UserError(
                f'The loss became {float(loss.detach())} at iteration {runner.iter + 1}: training stopped. '
                + (f'The last good checkpoint, {kept}, is kept and a rerun continues from it. ' if kept else
                   'No checkpoint was written yet. ')
                + 'Common causes: a learning rate too high for this batch size (try --cfg-options '
                'optim_wrapper.optimizer.lr=<smaller>), or --amp overflow (try without --amp).')
