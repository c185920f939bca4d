"""--print-config prints exactly what trains: for the same command, the config printed equals the one the run dumps
into its work dir (MMEngine's Runner writes <work dir>/<config file name>), key by key. Every key is compared: the
dumped config holds no timestamp, and every key training reads is in both."""
import pytest

from conftest import run_script

pytestmark = pytest.mark.slow(3)  # (minutes, the module's tests together; the longest start first: conftest.py)
NOT_COMPARED = frozenset()  # no key: what differs is a bug (a step that edits the config after assemble())


def _flat(node, prefix=''):
    if isinstance(node, dict):
        return {k: v for key, value in node.items() for k, v in _flat(value, f'{prefix}{key}.').items()} or {prefix: {}}
    if isinstance(node, (list, tuple)):
        return {k: v for i, value in enumerate(node) for k, v in _flat(value, f'{prefix}{i}.').items()} or {prefix: []}
    return {prefix[:-1]: node}


def _settings(config_text):
    from mmengine.config import Config
    settings = _flat(Config.fromstring(config_text, '.py').to_dict())
    return {key: value for key, value in settings.items() if key.split('.')[0] not in NOT_COMPARED}


def printed_and_trained(model, *args):
    """(the printed config's settings, the dumped config's) of `python train_<model>.py args`."""
    printed = run_script(model, *args, '--print-config')
    assert printed.returncode == 0, printed.stderr[-3000:]
    trained = run_script(model, *args)
    assert trained.returncode == 0, trained.stderr[-3000:]
    work_dir = args[list(args).index('--work-dir') + 1]
    with open(f'{work_dir}/{model}.py') as f:  # configs/<model>.py's name: what the Runner dumps under
        return _settings(printed.stdout), _settings(f.read())


def assert_same(printed, dumped):
    differing = {key: (printed.get(key, '(absent)'), dumped.get(key, '(absent)'))
                 for key in printed.keys() | dumped.keys() if printed.get(key, '(absent)') != dumped.get(key, '(absent)')}
    assert not differing, f'printed -> dumped: {differing}'


@pytest.mark.parametrize('model', ['fcn', 'segformer', 'mask2former'])
def test_printed_config_is_the_trained_config(model, tiny_ade, tmp_path):
    printed, dumped = printed_and_trained(model, '--smoke', '--iters', 2, '--work-dir', tmp_path / 'run')
    assert printed['train_cfg.max_iters'] == 2 and printed['resume'] is False
    assert_same(printed, dumped)


def test_with_flags_and_cfg_options(tiny_ade, tmp_path):
    printed, dumped = printed_and_trained('fcn', '--smoke', '--iters', 2, '--total-batch', 4, '--seed', 3,
                                          '--work-dir', tmp_path / 'run', '--cfg-options',
                                          'optim_wrapper.optimizer.lr=0.005')
    assert printed['optim_wrapper.accumulative_counts'] == 2 and printed['randomness.seed'] == 3
    assert printed['optim_wrapper.optimizer.lr'] == 0.005
    assert_same(printed, dumped)


def test_for_a_run_that_continues(tiny_ade, tmp_path):
    first = run_script('fcn', '--smoke', '--iters', 2, '--work-dir', tmp_path / 'run')
    assert first.returncode == 0, first.stderr[-3000:]
    printed, dumped = printed_and_trained('fcn', '--smoke', '--iters', 4, '--stretch-schedule',
                                          '--work-dir', tmp_path / 'run')
    assert printed['resume'] is True and printed['load_from'] == str(tmp_path / 'run' / 'iter_2.pth')
    assert printed['resume_with_new_config'] is True  # (the stretched schedule: resume/new_config.py)
    assert_same(printed, dumped)


def test_for_a_run_that_loads_pretrained_weights(weight_files, tiny_ade, tmp_path):
    weights = weight_files['torchvision_resnet50']
    printed, dumped = printed_and_trained('fcn', '--smoke', '--iters', 2, '--pretrain', weights,
                                          '--work-dir', tmp_path / 'run')
    assert printed['model.backbone.init_cfg.checkpoint'] == weights
    assert_same(printed, dumped)
