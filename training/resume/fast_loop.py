"""FastResumeLoop: MMEngine 0.10.7's IterBasedTrainLoop replays every trained batch through the data pipeline when
it resumes (minutes at iteration 150k). This loop skips the sampler's indices instead: the next step starts in
seconds, on the same samples an uninterrupted run would see, with the same augmentations: the training set is
wrapped in reproducibility.SeededSamples and gets each index with its position in the stream. Set as the config's
train_cfg.type by run_config.py (the project policy)."""
import itertools

from mmengine.dataset import InfiniteSampler
from mmengine.registry import LOOPS
from mmengine.runner import IterBasedTrainLoop

from .. import compat
from ..reproducibility import SeededSamples, positioned, seeded_training_set


@LOOPS.register_module(force=True)
class FastResumeLoop(IterBasedTrainLoop):
    """IterBasedTrainLoop that resumes by skipping sampler indices instead of decoding batches, and whose samples'
    augmentations depend on their position in the stream alone."""

    def __init__(self, runner, dataloader, *args, **kwargs):
        if isinstance(dataloader, dict) and dataloader.get('sampler', {}).get('type') == InfiniteSampler.__name__:
            dataloader = seeded_training_set(dataloader)
        super().__init__(runner, dataloader, *args, **kwargs)

    def run(self):
        sampler, dataset = self.dataloader.sampler, self.dataloader.dataset
        if not isinstance(sampler, InfiniteSampler):  # another sampler: MMEngine's replay
            return super().run()
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        # The sampler and the set were built before Runner.resume restored the run's seed: derive the order and the
        # augmentations from the (restored) seed, so a resumed run sees what an uninterrupted one would, then skip
        # what was trained. Indices are plain ints: skipping 300k of them takes milliseconds.
        sampler.seed = self.runner.seed
        if isinstance(dataset, SeededSamples):
            dataset.seed = self.runner.seed
        trained = self.iter * self.dataloader.batch_size
        indices = itertools.islice(compat.sampler_indices_of_rank(sampler), trained, None)
        sampler.indices = positioned(indices, trained) if isinstance(dataset, SeededSamples) else indices
        self.dataloader_iterator = compat.infinite_dataloader_iterator(self.dataloader)
        while self.iter < self.max_iters and not self.stop_training:
            self.runner.model.train()
            self.run_iter(next(self.dataloader_iterator))
            compat.decide_current_val_interval(self)
            if (self.runner.val_loop is not None and self.iter >= self.val_begin and not self.stop_training
                    and (self.iter % self.val_interval == 0 or self.iter == self.max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
