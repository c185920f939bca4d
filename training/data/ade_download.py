"""`make data` (command line: tools/download_ade.py): ADE20K's ADEChallengeData2016.zip downloaded (resumable,
its published SHA-1 checked), extracted to data/ade/ADEChallengeData2016 with a progress bar, then checked
(dataset_check.py). A rerun that finds the dataset there and checked does nothing.

The checksum: SHA-1 219e1696abb36c8ba3a3afe7fb2f4b4606a897c7 for this URL, as GluonCV's ADE20K preparation
script publishes it (dmlc/gluon-cv, scripts/datasets/ade20k.py). The archive is ~0.92 GB, its contents ~1 GB.
"""
import argparse
import os
import shutil
import zipfile

from . import downloads
from .dataset_check import check_ade, describe
from ..disk import require_space
from ..errors import UserError, exit_code

URL = 'http://data.csail.mit.edu/places/ADEchallenge/ADEChallengeData2016.zip'
SHA1 = '219e1696abb36c8ba3a3afe7fb2f4b4606a897c7'
ARCHIVE = os.path.basename(URL)
DATASET = 'ADEChallengeData2016'
EXTRACTED_PER_ARCHIVE_BYTE = 1.1  # the space the contents take, estimated before the download (JPEGs barely shrink)


def prepare(root, sha1=SHA1, keep_archive=False):
    """root/ADEChallengeData2016, downloaded and extracted where missing, checked; returns its path."""
    dataset, archive = os.path.join(root, DATASET), os.path.join(root, ARCHIVE)
    if os.path.isdir(dataset):
        problems = check_ade(dataset)
        if problems:
            raise UserError(f'{describe(dataset, problems)} To unpack it afresh: rm -rf {dataset} && make data')
        print(f'{dataset} is there and checked: nothing to do.')
        return dataset

    def check(path):
        digest = downloads.file_digest(path, 'sha1')
        return None if digest == sha1 else f'sha1-{digest[:8]}'

    url = downloads.url_of(ARCHIVE, URL)
    if not os.path.isfile(archive):
        if not downloads.allowed():
            raise UserError(f'{dataset} is missing and downloads are off ({downloads.OFFLINE}=1). Download it by hand: '
                            f'`{downloads.manual_command(url, archive)}`, then run make data again to unpack and '
                            f'check it.')
        expected_size = _remote_size(url)
        downloads.fetch(url, archive, verify=check, extra_space=int(expected_size * EXTRACTED_PER_ARCHIVE_BYTE))
    else:  # downloaded by hand, or kept: the same check
        rejected = check(archive)
        if rejected:
            aside = downloads.set_aside(archive, archive, rejected)
            raise UserError(f'{archive} is not the published archive (its SHA-1 starts with {rejected[5:]}, not '
                            f'{sha1[:8]}): moved aside to {aside}. Run make data again to download it.')
    _extract(archive, root, dataset)
    problems = check_ade(dataset)
    if problems:
        raise UserError(describe(dataset, problems))
    if not keep_archive:
        os.remove(archive)
    splits = {split: len(os.listdir(os.path.join(dataset, 'images', split))) for split in ('training', 'validation')}
    print(f'{dataset}: {splits["training"]} training and {splits["validation"]} validation images, checked'
          + ('' if keep_archive else f'; {archive} removed (--keep-archive keeps it)'))
    return dataset


def _remote_size(url):
    import requests
    try:
        return int(requests.head(url, timeout=downloads.TIMEOUT_S, allow_redirects=True).headers.get(
            'Content-Length', 0))
    except requests.RequestException:
        return 0  # fetch() says what went wrong


def _extract(archive, root, dataset):
    """The archive's ADEChallengeData2016/ into place: extracted beside it, then renamed (a reader never sees half
    a dataset; an interrupted extraction starts over)."""
    with zipfile.ZipFile(archive) as zipped:
        members = [m for m in zipped.infolist() if m.filename.startswith(f'{DATASET}/')]
        if not members:
            raise UserError(f'{archive} holds no {DATASET}/ folder: it is not the ADE20K challenge archive.')
        size = sum(m.file_size for m in members)
        require_space(root, size, f'to unpack {archive}', 'Free some space, then run make data again.')
        partial = os.path.join(root, f'.{DATASET}.partial')
        shutil.rmtree(partial, ignore_errors=True)
        with downloads.progress_bar(size, f'unpacking {ARCHIVE}') as bar:
            for member in members:
                zipped.extract(member, partial)
                bar.update(member.file_size)
    os.replace(os.path.join(partial, DATASET), dataset)
    shutil.rmtree(partial)


def main(argv=None):
    parser = argparse.ArgumentParser(description='Download, unpack and check ADE20K (ADEChallengeData2016).')
    parser.add_argument('--root', default='data/ade', help='where ADEChallengeData2016/ goes (default data/ade)')
    parser.add_argument('--sha1', default=SHA1,
                        help='the archive\'s SHA-1 (default: the published one; a mirror may serve a repacked archive)')
    parser.add_argument('--keep-archive', action='store_true', help='keep the .zip after unpacking it')
    parser.add_argument('--debug', action='store_true', help='show full tracebacks on errors')
    args = parser.parse_args(argv)
    return exit_code(lambda: prepare(args.root, args.sha1, args.keep_archive) and 0, args.debug)
