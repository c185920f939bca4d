"""The private APIs of the pinned stack that training/compat.py reaches, one test each: it fails with the release the
project read them in (compat.PINNED) and what to check, when an upgrade moves or changes one."""
import importlib.metadata
import inspect
import json
import sys

import pytest

from training import compat


def _changed(package, what):
    installed = importlib.metadata.version(package) if package != 'python' else sys.version.split()[0]
    return (f'{what} is not what training/compat.py was written against ({package} {compat.PINNED[package]}; '
            f'installed: {installed}): read {package}\'s changes since {compat.PINNED[package]} and give compat.py '
            f'the new way in')


def _parameters(function):
    return list(inspect.signature(function).parameters)


def test_torch_loader_signal_handling():
    from torch.utils.data._utils import signal_handling
    assert isinstance(getattr(signal_handling, '_SIGCHLD_handler_set', None), bool), _changed(
        'torch', 'torch.utils.data._utils.signal_handling._SIGCHLD_handler_set')
    for name in ('_error_if_any_worker_fails', '_set_worker_pids', '_remove_worker_pids'):  # (C functions)
        assert callable(getattr(signal_handling, name, None)), _changed(
            'torch', f'torch.utils.data._utils.signal_handling.{name}')
    before = compat.loader_sigchld_handler_installed()
    compat.set_loader_sigchld_handler_installed(not before)
    assert compat.loader_sigchld_handler_installed() == (not before)
    compat.set_loader_sigchld_handler_installed(before)
    compat.raise_if_a_loader_worker_failed()  # no worker registered: nothing to raise


def test_mmengine_checkpoint_hook_saves_now():
    from mmengine.hooks import CheckpointHook
    assert _parameters(getattr(CheckpointHook, '_save_checkpoint', lambda: None)) == ['self', 'runner'], _changed(
        'mmengine', 'CheckpointHook._save_checkpoint(self, runner)')


def test_mmengine_loads_a_checkpoint_as_resume_does():
    from mmengine.runner import checkpoint
    function = getattr(checkpoint, '_load_checkpoint', None)
    assert function is not None and _parameters(function)[:3] == ['filename', 'map_location', 'logger'], _changed(
        'mmengine', 'mmengine.runner.checkpoint._load_checkpoint(filename, map_location, logger)')


def test_mmengine_infinite_sampler_and_loop_internals():
    from mmengine.dataset import InfiniteSampler
    from mmengine.runner import IterBasedTrainLoop, Runner, loops
    sampler = InfiniteSampler(list(range(6)), shuffle=True, seed=3)
    assert callable(getattr(sampler, '_indices_of_rank', None)), _changed('mmengine', 'InfiniteSampler._indices_of_rank()')
    first = [next(compat.sampler_indices_of_rank(sampler)) for _ in range(1)]
    assert first[0] in range(6)
    assert hasattr(loops, '_InfiniteDataloaderIterator'), _changed('mmengine', 'mmengine.runner.loops.'
                                                                               '_InfiniteDataloaderIterator')
    iterator = compat.infinite_dataloader_iterator([[1], [2]])
    assert [next(iterator) for _ in range(3)] == [[1], [2], [1]], _changed('mmengine', '_InfiniteDataloaderIterator')
    source = inspect.getsource(IterBasedTrainLoop.__init__) + inspect.getsource(Runner)
    for attribute in ('self._iter', 'self._epoch', 'self._randomness_cfg', 'self._has_loaded', 'def set_randomness'):
        assert attribute in source, _changed('mmengine', f'IterBasedTrainLoop/Runner {attribute}')


def test_mmengine_dynamic_validation_interval():
    from mmengine.runner import IterBasedTrainLoop
    assert _parameters(getattr(IterBasedTrainLoop, '_decide_current_val_interval', lambda: None)) == ['self'], \
        _changed('mmengine', 'IterBasedTrainLoop._decide_current_val_interval(self)')
    loop = IterBasedTrainLoop.__new__(IterBasedTrainLoop)  # the loop's interval state alone, without a Runner
    loop._iter, loop.val_interval, loop.dynamic_milestones, loop.dynamic_intervals = 5, 4, [0, 4], [4, 2]
    compat.decide_current_val_interval(loop)
    assert loop.val_interval == 2, _changed('mmengine', 'IterBasedTrainLoop\'s dynamic_intervals')


def test_mmengine_scheduler_last_values():
    import torch
    from mmengine.optim import OptimWrapper, PolyLR
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = PolyLR(OptimWrapper(optimizer), eta_min=0, begin=0, end=10, by_epoch=False)
    state = scheduler.state_dict()
    assert '_last_value' in state, _changed('mmengine', 'a param scheduler\'s state_dict()[\'_last_value\']')
    compat.set_last_scheduled_values(state, [0.05])
    scheduler.load_state_dict(state)
    assert scheduler.get_last_value() == [0.05], _changed('mmengine', '_ParamScheduler.get_last_value()')


def test_mmengine_local_files_are_written_through_one_method(tmp_path):
    from mmengine.fileio import backends
    from mmengine.fileio.backends import LocalBackend
    original = LocalBackend.put
    assert _parameters(original)[:3] == ['self', 'obj', 'filepath'], _changed('mmengine',
                                                                          'LocalBackend.put(self, obj, filepath)')
    written = []
    try:
        compat.write_local_files_with(lambda backend, obj, filepath: written.append((obj, str(filepath))))
        backends.LocalBackend().put(b'x', tmp_path / 'f')
    finally:
        compat.write_local_files_with(original)
    assert written == [(b'x', str(tmp_path / 'f'))], _changed('mmengine', 'LocalBackend.put')


def test_mmengine_runner_saves_a_checkpoint_through_its_modules_save_checkpoint():
    import re

    import mmengine.runner.runner
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import save_checkpoint
    assert _parameters(save_checkpoint)[:4] == ['checkpoint', 'filename', 'file_client_args', 'backend_args'], \
        _changed('mmengine', 'save_checkpoint(checkpoint, filename, file_client_args, backend_args)')
    call = r'\bsave_checkpoint\(\s*checkpoint,\s*filepath,\s*file_client_args=file_client_args,\s*backend_args=backend_args\)'
    assert hasattr(mmengine.runner.runner, 'save_checkpoint') and re.search(
        call, inspect.getsource(Runner.save_checkpoint)), _changed('mmengine', 'Runner.save_checkpoint\'s call of the '
                                                                   'save_checkpoint of mmengine/runner/runner.py')


def test_mmengine_writes_the_last_checkpoint_again_at_a_new_best_only_when_last_ckpt_is_set():
    import re

    from mmengine.hooks import CheckpointHook
    source = inspect.getsource(CheckpointHook._save_best_checkpoint)
    rewrites = re.findall(r'if best_ckpt_updated and self\.last_ckpt is not None:\s*self\._save_checkpoint_with_step\(',
                          source)
    assert len(rewrites) == 1 and source.count('last_ckpt') == 1 and source.count('_save_checkpoint') == 1, _changed(
        'mmengine', 'CheckpointHook._save_best_checkpoint\'s second write of the last checkpoint')


def test_mmengine_keeps_one_visualizer_per_name_and_class_until_forgotten(tmp_path):
    from mmseg.visualization import SegLocalVisualizer
    first = SegLocalVisualizer.get_instance('compat_test', save_dir=str(tmp_path / 'first'))
    again = SegLocalVisualizer.get_instance('compat_test', save_dir=str(tmp_path / 'second'))
    assert again is first and 'compat_test' in SegLocalVisualizer._instance_dict, _changed(
        'mmengine', 'ManagerMixin.get_instance and its _instance_dict')
    compat.forget_visualizer('compat_test')
    assert not SegLocalVisualizer.check_instance_created('compat_test')
    assert SegLocalVisualizer.get_instance('compat_test', save_dir=str(tmp_path / 'second')) is not first
    compat.forget_visualizer('compat_test')


def test_submitit_builds_the_sbatch_script():
    """(In a child: importing submitit reconfigures logging, closing the handlers of this process's MMEngine logs.)"""
    import subprocess

    from conftest import REPO
    child = subprocess.run([sys.executable, '-c', '''if True:
        import inspect, json
        from submitit.slurm import slurm
        from training import compat
        function = getattr(slurm, '_make_sbatch_string', None)
        text = compat.sbatch_text('/tmp/%j', job_name='j', partition='p', time=5, nodes=1, ntasks_per_node=1,
                                  cpus_per_task=1, signal_delay_s=90) if function else ''
        print(json.dumps(dict(parameters=list(inspect.signature(function).parameters) if function else [], text=text)))
        '''], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr[-3000:]
    found = json.loads(child.stdout.strip().splitlines()[-1])
    assert {'command', 'folder', 'signal_delay_s', 'additional_parameters'} <= set(found['parameters']), _changed(
        'submitit', 'submitit.slurm.slurm._make_sbatch_string(command, folder, ...)')
    assert '#SBATCH --partition=p' in found['text'] and '#SBATCH --signal=USR2@90' in found['text'], _changed(
        'submitit', 'its sbatch text')
    assert '-m submitit.core._submit /tmp/%j' in found['text'], _changed('submitit', 'the command its jobs run')


def test_python_runs_its_exit_functions_on_request():
    import atexit
    import subprocess

    from conftest import REPO
    assert callable(getattr(atexit, '_run_exitfuncs', None)), _changed('python', 'atexit._run_exitfuncs()')
    # (in a child: the exit functions of this process would close its logs)
    child = subprocess.run([sys.executable, '-c', 'import atexit, os\nfrom training import compat\n'
                            'atexit.register(print, "ran")\ncompat.run_exit_functions()\nos._exit(0)'],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert child.stdout == 'ran\n', child.stderr[-2000:]


def test_torch_dynamo_counts_graphs_and_breaks_and_keeps_a_recompile_limit():
    """--compile's reach into Dynamo (training/compiling.py): the recompile limit, the counters, the mmseg head whose
    per-pixel loss modules it compiles."""
    import torch
    import torch._inductor.config
    assert hasattr(torch._dynamo.config, 'recompile_limit'), _changed('torch', 'torch._dynamo.config.recompile_limit')
    assert hasattr(torch._inductor.config, 'fallback_random'), _changed('torch', 'torch._inductor.config.fallback_random')
    compat.reset_dynamo()
    try:
        def with_a_break(x):
            x = x + 1
            torch._dynamo.graph_break()
            return x * 2

        torch.compile(with_a_break, backend='eager')(torch.ones(2))
        counts = compat.dynamo_counts()
    finally:
        compat.reset_dynamo()
    assert counts['graphs'] == 2 and counts['graph_breaks'] == 1, _changed('torch', f'torch._dynamo.utils.counters '
                                                                                   f'(read: {counts})')
    assert counts['first_break'], _changed('torch', 'the graph break reasons in torch._dynamo.utils.counters')
    assert compat.dynamo_counts() == dict(graphs=0, graph_breaks=0, first_break=None)


@pytest.mark.parametrize('package', sorted(compat.PINNED))
def test_every_pinned_release_is_the_one_installed(package):
    """Where one differs (an upgrade), the tests above are the ones to read first."""
    installed = sys.version.split()[0] if package == 'python' else importlib.metadata.version(package)
    assert installed.startswith(compat.PINNED[package]), _changed(package, f'{package} itself')
