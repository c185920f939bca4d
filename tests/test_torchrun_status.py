"""tools/torchrun.py's exit status (training/torchrun_status.py): a clean stop on a signal is the requeue status, a
failure the failed rank's; test_multinode.py runs it for real."""
from training.torchrun_status import SHUTDOWN_TIMEOUT_S, status_of_failures, with_shutdown_timeout


def test_a_stop_on_a_signal_is_its_status_and_a_failure_the_failed_ranks(capsys):
    assert status_of_failures({0: 143, 1: 143}) == 143
    assert 'the same command continues' in capsys.readouterr().err
    assert status_of_failures({1: -15}) == 143  # ended by SIGTERM itself
    assert status_of_failures({0: 140}) == 140  # SIGUSR2, before a Slurm time limit
    assert status_of_failures({0: 143, 1: 2}) == 2  # one rank's error is not a stop
    assert 'rank 1 failed (exit status 2)' in capsys.readouterr().err
    assert status_of_failures({3: -9}) == 137  # killed: a failure, not a stop


def test_the_agent_waits_for_the_checkpoint_unless_told_otherwise():
    assert with_shutdown_timeout(['--nnodes', '2', 'train_fcn.py']) == [
        '--shutdown-timeout', str(SHUTDOWN_TIMEOUT_S), '--nnodes', '2', 'train_fcn.py']
    assert with_shutdown_timeout(['--shutdown-timeout=5', 'train_fcn.py']) == ['--shutdown-timeout=5', 'train_fcn.py']
    assert with_shutdown_timeout(['--shutdown_timeout', '5', 'x.py']) == ['--shutdown_timeout', '5', 'x.py']
