"""compat.py lets torch.load (weights_only, the default since torch 2.6) read MMEngine's checkpoints,
and nothing more."""
import pickle

import numpy as np
import pytest
import torch

import compat  # noqa: F401


class NotAllowed:
    def __init__(self):
        self.payload = 'anything'


def test_mmengine_checkpoint_types_load(tmp_path):
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('compat-test')
    for value in (1.5, 2.5, np.float64(3.0)):
        hub.update_scalar('train/loss', value)
    hub.update_info('iter', 10)
    state = {'message_hub': hub.state_dict(), 'meta': {'iter': 10, 'seed': np.int64(7)},
             'array': np.arange(6, dtype=np.float32).reshape(2, 3), 'state_dict': {'w': torch.ones(2)}}
    torch.save(state, tmp_path / 'ckpt.pth')
    loaded = torch.load(tmp_path / 'ckpt.pth')  # the call MMEngine 0.10.7 makes
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 3.0
    assert loaded['meta']['seed'] == 7
    np.testing.assert_array_equal(loaded['array'], state['array'])


def test_other_pickled_objects_are_still_refused(tmp_path):
    torch.save({'obj': NotAllowed()}, tmp_path / 'evil.pth')
    with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
        torch.load(tmp_path / 'evil.pth')
