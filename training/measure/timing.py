"""The timing machinery of the benchmarks: a step timer on a Runner, turns that let Runners in threads train one step
each in turn, the model's GFLOPs, and the statistics of repeated measurements (the median run, the geometric mean of
ratios)."""
import math
import statistics
import threading
import time

RATIO_KEYS = ('ms_per_iter_median', 'ms_per_iter_p90', 'data_wait_ms', 'images_per_s', 'peak_mem_mb')


class Turns:
    """Lets Runners in threads train one step at a time, in turn (ours, official, ours, ...): paired steps see
    the same machine state, so their ratio is free of the drift that separates two processes run one after
    the other. A side that finishes or fails drops out of the rotation."""

    def __init__(self, sides):
        self.sides, self.current, self.out = list(sides), 0, set()
        self.condition = threading.Condition()

    def wait(self, side):
        with self.condition:
            self.condition.wait_for(lambda: self.sides[self.current] == side)

    def _advance(self):
        for _ in self.sides:
            self.current = (self.current + 1) % len(self.sides)
            if self.sides[self.current] not in self.out:
                return

    def pass_on(self, side, finished=False):
        with self.condition:
            if finished:
                self.out.add(side)
            if self.sides[self.current] == side:
                self._advance()
            self.condition.notify_all()


class StepTimer:
    """Wall time of each training step, data loading included, and the data wait alone; with `turns`, timed
    from the moment this side's turn starts."""

    def __init__(self, sync, side=None, turns=None):
        self.sync, self.side, self.turns = sync, side, turns
        self.steps, self.waits, self._start = [], [], None

    def _begin(self):
        if self.turns:
            self.turns.wait(self.side)
        self._start = time.perf_counter()

    def hook(self):
        from mmengine.hooks import Hook
        timer = self

        class StepTimerHook(Hook):
            def before_train(self, runner):
                timer._begin()

            def before_train_iter(self, runner, batch_idx, data_batch=None):
                timer.waits.append(time.perf_counter() - timer._start)

            def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
                timer.sync()
                timer.steps.append(time.perf_counter() - timer._start)
                if timer.turns:
                    timer.turns.pass_on(timer.side)
                timer._begin()

        return StepTimerHook()


def gflops_per_image(model, crop, device):
    """MMEngine's complexity counter on one crop (it counts a multiply-add as one FLOP), forward only."""
    import torch
    from mmengine.analysis import get_model_complexity_info
    model.eval()
    try:
        with torch.no_grad():
            info = get_model_complexity_info(model, inputs=(torch.rand(1, 3, crop, crop, device=device),),
                                             show_table=False, show_arch=False)
        return round(info['flops'] / 1e9, 2), None
    except Exception as error:  # e.g. MaskFormer heads need data samples in forward
        return None, f'{type(error).__name__}: {str(error).splitlines()[0][:120]}'


def median_run(runs):
    """The run with the median step time (a real run, so its figures belong together), all medians beside it."""
    good = sorted((run for run in runs if 'error' not in run), key=lambda run: run['ms_per_iter_median'])
    if not good:
        return runs[0]
    chosen = dict(good[(len(good) - 1) // 2])
    if len(runs) > 1:
        chosen['ms_per_iter_median_of_each_run'] = [run.get('ms_per_iter_median') for run in runs]
    return chosen


def ratios(ours, official):
    return {key: ours[key] / official[key] for key in RATIO_KEYS if official.get(key) and ours.get(key) is not None}


def combine(runs):
    """Several measurements of both sides: the geometric mean of each ratio, and the run whose step-time ratio
    is nearest to it (a real run, so its figures belong together)."""
    good = [run for run in runs if 'error' not in run['ours'] and 'error' not in run['official']]
    if not good:
        return dict(runs[0])
    each = [ratios(run['ours'], run['official']) for run in good]
    mean = {key: math.exp(statistics.fmean(math.log(ratio[key]) for ratio in each))
            for key in each[0] if all(key in ratio for ratio in each)}
    nearest = min(range(len(good)), key=lambda i: abs(math.log(each[i]['ms_per_iter_median'] /
                                                               mean['ms_per_iter_median'])))
    result = dict(good[nearest], ratio={key: round(value, 3) for key, value in mean.items()})
    if len(runs) > 1:
        result['ratio_ms_per_iter_of_each_run'] = [round(ratio['ms_per_iter_median'], 3) for ratio in each]
    return result

