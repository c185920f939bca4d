"""Checkpoints written before the plain-type format (training/checkpoints.py) pickle MMEngine's HistoryBuffers:
training/compat.py lets torch.load (weights_only, the default since torch 2.6) read them, and nothing more:
`getattr` only while resuming from (or, in evaluate/infer, reading) the run's own checkpoint."""
import pickle

import numpy as np
import pytest
import torch

from training import compat


class NotAllowed:
    def __init__(self):
        self.payload = 'anything'


def _mmengine_like_checkpoint(path):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    for value in (1.5, 2.5, np.float64(3.0)):
        hub.update_scalar('train/loss', value)
    state = {'message_hub': hub.state_dict(), 'meta': {'iter': 10, 'seed': np.int64(7)},
             'array': np.arange(6, dtype=np.float32).reshape(2, 3), 'state_dict': {'w': torch.ones(2)}}
    torch.save(state, path)
    return state


def test_own_checkpoint_loads_while_resuming(tmp_path):
    state = _mmengine_like_checkpoint(tmp_path / 'ckpt.pth')
    with compat.trusting_own_checkpoint():
        loaded = torch.load(tmp_path / 'ckpt.pth')  # the call MMEngine 0.10.7 makes
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 3.0
    assert loaded['meta']['seed'] == 7
    np.testing.assert_array_equal(loaded['array'], state['array'])


def test_numpy_data_loads_anywhere(tmp_path):
    torch.save({'array': np.ones(3), 'scalar': np.float32(2)}, tmp_path / 'np.pth')
    assert torch.load(tmp_path / 'np.pth')['scalar'] == 2


def test_getattr_is_refused_outside_resume(tmp_path):
    _mmengine_like_checkpoint(tmp_path / 'ckpt.pth')
    with pytest.raises(pickle.UnpicklingError, match='getattr'):
        torch.load(tmp_path / 'ckpt.pth')


def test_other_pickled_objects_are_refused_even_while_resuming(tmp_path):
    torch.save({'obj': NotAllowed()}, tmp_path / 'evil.pth')
    with compat.trusting_own_checkpoint(), pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(tmp_path / 'evil.pth')


def test_runner_resume_is_wrapped():
    from mmengine.runner import Runner
    assert Runner.resume.trusts_own_checkpoint
