"""A model trained on the tiny subset gets clearly better than the same model untrained: fails if
training is broken (labels misread, LR schedule dead, gradients not applied...)."""
from conftest import final_miou, run_script

ITERS = 120


def test_fcn_learns_the_tiny_subset(tiny_ade, tmp_path):
    # untrained: one step at lr 0 (only BatchNorm statistics move), then the same validation
    untrained = run_script('fcn', '--smoke', '--iters', 1, '--work-dir', tmp_path / 'untrained',
                           '--cfg-options', 'optim_wrapper.optimizer.lr=0')
    assert untrained.returncode == 0, untrained.stderr[-5000:]
    trained = run_script('fcn', '--smoke', '--iters', ITERS, '--work-dir', tmp_path / 'trained')
    assert trained.returncode == 0, trained.stderr[-5000:]
    before, after = final_miou(untrained.stdout), final_miou(trained.stdout)
    print(f'mIoU untrained {before:.2f}, after {ITERS} iterations {after:.2f}')
    assert after >= 30 and after >= 3 * before, (before, after)
