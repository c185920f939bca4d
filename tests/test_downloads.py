"""Missing weight files are downloaded on first use, and `make data` fetches ADE20K (training/data/downloads.py,
training/data/ade_download.py), here from a real HTTP server on 127.0.0.1 reached through the mirror setting
(ADE_SEG_MIRROR): resumed after a cut connection, refused with a wrong hash, explained when the server is down,
never attempted with --no-download."""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import zipfile

import pytest

from conftest import REPO, run_script, user_error
from http_server import FileServer

SWIN = 'swin_base_patch4_window12_384_22k.pth'


def _online(server_url):
    return {'ADE_SEG_MIRROR': server_url, 'ADE_SEG_NO_DOWNLOAD': '0'}


def _loaded(result):
    return re.search(r'pretrained: loaded (\d+)/(\d+) backbone tensors', result.stdout + result.stderr).groups()


@pytest.fixture
def served(weight_files, tmp_path):
    """A server with the ResNet-50 fixture (named after its own SHA-256, like the real file) and the Swin fixture,
    and an empty pretrain/ to download into."""
    directory = tmp_path / 'served'
    directory.mkdir()
    for fixture in ('torchvision_resnet50', 'official_swin_base_384_22k'):
        os.link(weight_files[fixture], directory / os.path.basename(weight_files[fixture]))
    (tmp_path / 'pretrain').mkdir()
    with FileServer(directory) as server:
        yield server, os.path.basename(weight_files['torchvision_resnet50']), tmp_path / 'pretrain'


def test_a_missing_weight_file_is_fetched_on_first_use_and_the_run_goes_on(served, tiny_ade, tmp_path):
    server, resnet, pretrain = served
    result = run_script('fcn', '--smoke', '--iters', 1, '--pretrain', pretrain / resnet, '--work-dir', tmp_path / 'w',
                        env=_online(server.url))
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'downloading {server.url}/{resnet}' in result.stderr and (pretrain / resnet).is_file()
    assert _loaded(result) == ('265', '265') and (tmp_path / 'w' / 'iter_1.pth').is_file()
    assert not list(pretrain.glob('*.part'))


def test_the_swin_file_is_downloaded_converted_and_loaded_on_a_clean_pretrain_dir(served):
    server, _, pretrain = served
    result = run_script('swin', '--check-pretrain', '--cfg-options',
                        f'model.backbone.init_cfg.checkpoint={pretrain}/{SWIN}', env=_online(server.url))
    assert result.returncode == 0, result.stderr[-3000:]
    loaded, expected = _loaded(result)
    assert loaded == expected and int(expected) > 300 and f'converted: {pretrain}/converted/' in result.stdout
    assert server.requests == [(SWIN, None)]


def test_a_cut_connection_is_resumed_on_the_next_try(served):
    server, resnet, pretrain = served
    size = os.path.getsize(os.path.join(server.httpd.directory, resnet))
    server.cut_after[resnet] = size // 2
    cut = run_script('fcn', '--check-pretrain', '--pretrain', pretrain / resnet, env=_online(server.url))
    user_error(cut, f'The download of {server.url}/{resnet}', 'stopped after', f'{pretrain / resnet}.part',
               'Run the same command again to resume', f'wget -c {server.url}/{resnet} -O {pretrain / resnet}')
    kept = os.path.getsize(f'{pretrain / resnet}.part')  # (up to the last whole chunk before the cut)
    assert size // 4 < kept <= size // 2 and not (pretrain / resnet).exists()

    resumed = run_script('fcn', '--check-pretrain', '--pretrain', pretrain / resnet, env=_online(server.url))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f'resuming at {kept / 1e6:.0f} MB' in resumed.stderr
    assert server.requests[-1] == (resnet, f'bytes={kept}-')  # only the missing part was asked for
    assert _loaded(resumed) == ('265', '265')


def test_a_file_whose_hash_does_not_match_its_name_is_moved_aside(served, tmp_path):
    server, resnet, pretrain = served
    real_name = 'resnet50-11ad3fa6.pth'  # the same bytes under the real file's name: the prefix cannot match
    os.link(os.path.join(server.httpd.directory, resnet), os.path.join(server.httpd.directory, real_name))
    actual = resnet.split('-')[1][:8]
    result = run_script('fcn', '--check-pretrain', '--pretrain', pretrain / real_name, env=_online(server.url))
    aside = pretrain / f'{real_name}.bad-sha256-{actual}'
    user_error(result, f'{server.url}/{real_name} is not the one expected (sha256 {actual})',
               f'moved aside to {aside}', 'will not be used')
    assert aside.is_file() and not (pretrain / real_name).exists() and not list(pretrain.glob('*.part'))


def test_with_the_server_down_the_message_gives_the_url_and_the_command(tmp_path):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(('127.0.0.1', 0))
        down = f'http://127.0.0.1:{unused.getsockname()[1]}'
    target = tmp_path / 'pretrain' / 'resnet50-11ad3fa6.pth'
    result = run_script('fcn', '--check-pretrain', '--pretrain', target, env=_online(down))
    user_error(result, f'Could not download {down}/resnet50-11ad3fa6.pth to {target}', 'Connection refused',
               f'wget -c {down}/resnet50-11ad3fa6.pth -O {target}')


@pytest.mark.parametrize('offline', [['--no-download'], []], ids=['--no-download', 'ADE_SEG_NO_DOWNLOAD=1'])
def test_offline_gives_the_message_with_the_command(served, offline):
    server, _, pretrain = served
    env = dict(_online(server.url), ADE_SEG_NO_DOWNLOAD='0' if offline else '1')
    result = run_script('swin', '--check-pretrain', *offline, '--cfg-options',
                        f'model.backbone.init_cfg.checkpoint={pretrain}/{SWIN}', env=env)
    user_error(result, f'Pretrained weights not found: {pretrain}/{SWIN}',
               f'wget https://github.com/SwinTransformer/storage/releases/download/v1.0.0/{SWIN}')
    assert server.requests == []


# ---- make data ----------------------------------------------------------------------------------------
@pytest.fixture
def served_ade(tiny_ade, tmp_path):
    """The tiny subset zipped as the real archive is laid out (ADEChallengeData2016/images/..., annotations/...),
    served as ADEChallengeData2016.zip; its SHA-1."""
    directory = tmp_path / 'served'
    directory.mkdir()
    archive = directory / 'ADEChallengeData2016.zip'
    with zipfile.ZipFile(archive, 'w') as zipped:
        for folder, _, files in os.walk(tiny_ade):
            for name in sorted(files):
                path = os.path.join(folder, name)
                zipped.write(path, os.path.join('ADEChallengeData2016', os.path.relpath(path, tiny_ade)))
    with FileServer(directory) as server:
        yield server, hashlib.sha1(archive.read_bytes()).hexdigest()


def _make_data(root, sha1, server):
    return subprocess.run(['make', '-s', 'data', f'DATA_ARGS=--root {root} --sha1 {sha1}'], cwd=REPO, text=True,
                          capture_output=True, timeout=900, env={**os.environ, **_online(server.url)})


def test_make_data_downloads_unpacks_and_checks_and_a_rerun_does_nothing(served_ade, tmp_path):
    server, sha1 = served_ade
    root = tmp_path / 'ade'
    first = _make_data(root, sha1, server)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    assert f'{root}/ADEChallengeData2016: 32 training and 8 validation images, checked' in first.stdout
    check = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'python'), 'tools/check_ade.py',
                            str(root / 'ADEChallengeData2016')], cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert not (root / 'ADEChallengeData2016.zip').exists()  # removed once unpacked and checked

    again = _make_data(root, sha1, server)
    assert again.returncode == 0 and 'is there and checked: nothing to do' in again.stdout
    assert [name for name, _ in server.requests] == ['ADEChallengeData2016.zip']  # one download, none more


def test_make_data_refuses_an_archive_that_is_not_the_published_one(served_ade, tmp_path):
    server, sha1 = served_ade
    root = tmp_path / 'ade'
    result = _make_data(root, '0' * 40, server)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    assert f'is not the one expected (sha1 {sha1[:8]})' in result.stderr
    assert (root / f'ADEChallengeData2016.zip.bad-sha1-{sha1[:8]}').is_file()
    assert not (root / 'ADEChallengeData2016').exists()
    shutil.rmtree(root)
