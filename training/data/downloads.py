"""Downloads (pretrained weights, the ADE20K archive), one path for both: the free space checked first, the file
fetched over HTTP with a progress bar (size, speed, ETA), resumed where an interrupted transfer stopped (HTTP Range),
written under a temporary name (<file>.part) and renamed only once verified. A file that fails its check, downloaded
or put there by hand, is moved aside under a name that says so (<file>.bad-<why>) and never used.

Where from: the file's own URL, or <ADE_SEG_MIRROR>/<file name> when ADE_SEG_MIRROR names another base URL (a
mirror nearer than GitHub's release files, a server on the cluster). Offline: ADE_SEG_NO_DOWNLOAD=1, or a
script's --no-download, never downloads; the messages then give the command to fetch the file by hand.
The transfer itself is requests' (streamed, with a Range header); tqdm draws the bar.
"""
import hashlib
import os
import sys

from ..disk import require_space
from ..errors import UserError

MIRROR = 'ADE_SEG_MIRROR'
OFFLINE = 'ADE_SEG_NO_DOWNLOAD'
CHUNK = 1 << 20
TIMEOUT_S = 60  # to connect, and between two chunks


def allowed(no_download=False):
    """Whether this run may download (neither --no-download nor ADE_SEG_NO_DOWNLOAD=1)."""
    return not no_download and os.environ.get(OFFLINE, '') in ('', '0')


def url_of(file_name, url=None):
    """Where `file_name` is fetched from: the mirror when one is set, else `url` (None: nowhere known)."""
    mirror = os.environ.get(MIRROR)
    return f'{mirror.rstrip("/")}/{file_name}' if mirror else url


def manual_command(url, target):
    return f'wget -c {url} -O {target}'


def file_digest(path, algorithm):
    """The hex digest of a file ('sha1', 'sha256')."""
    with open(path, 'rb') as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def progress_bar(total, description, initial=0):
    """The progress bar of a transfer or an unpacking: bytes, speed and ETA, on stderr, at most once a second."""
    from tqdm import tqdm
    return tqdm(total=total or None, initial=initial, unit='B', unit_scale=True, unit_divisor=1024,
                desc=description, file=sys.stderr, mininterval=1)


def set_aside(path, target, reason):
    """Moves a file that failed its check out of the way, to <target>.bad-<reason> (never used); returns that path."""
    aside = f'{target}.bad-{reason}'
    os.replace(path, aside)
    return aside


def fetch(url, target, verify=None, extra_space=0):
    """Downloads `url` to `target` (resuming <target>.part), then verify(part) -> None if good, else a short
    reason ('sha256-1a2b3c4d'): the file is then moved aside to <target>.bad-<reason>. `extra_space`: bytes needed
    beside the file (an archive's extracted contents), checked with it before the transfer starts."""
    import requests
    part = f'{target}.part'
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    have = os.path.getsize(part) if os.path.isfile(part) else 0
    by_hand = (f'Run the same command again to resume, or download it by hand: `{manual_command(url, target)}` '
               f'(offline: --no-download, or {OFFLINE}=1; another server: {MIRROR}=<base URL>).')
    try:
        response = requests.get(url, stream=True, timeout=TIMEOUT_S,
                                headers={'Range': f'bytes={have}-'} if have else {})
    except requests.RequestException as error:
        raise UserError(f'Could not download {url} to {target}: {_reason(error)}. {by_hand}') from error
    with response:
        if response.status_code == 416 and have:  # the part is complete already
            total = have
        elif response.status_code not in (200, 206):
            raise UserError(f'Could not download {url} to {target}: the server answered {response.status_code} '
                            f'{response.reason}. {by_hand}')
        else:
            if response.status_code == 200:  # the server ignored the Range: start over
                have = 0
            total = have + int(response.headers.get('Content-Length', 0))
            require_space(os.path.dirname(os.path.abspath(target)), total - have + extra_space, f'to download {url}')
            print(f'downloading {url}\n         to {target}' + (f' (resuming at {have / 1e6:.0f} MB)' if have else ''),
                  file=sys.stderr)
            try:
                with open(part, 'ab' if have else 'wb') as out, \
                        progress_bar(total, os.path.basename(target), initial=have) as bar:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
                        bar.update(len(chunk))
            except requests.RequestException as error:
                got = os.path.getsize(part)
                raise UserError(f'The download of {url} to {target} stopped after {got / 1e6:.1f} of '
                                f'{total / 1e6:.1f} MB ({_reason(error)}). The part is kept in {part}. '
                                f'{by_hand}') from error
            if total and os.path.getsize(part) != total:
                raise UserError(f'The download of {url} to {target} ended after {os.path.getsize(part)} of {total} '
                                f'bytes. The part is kept in {part}. {by_hand}')
    rejected = verify(part) if verify else None
    if rejected:
        aside = set_aside(part, target, rejected)
        raise UserError(f'The file downloaded from {url} is not the one expected ({rejected.replace("-", " ")}): '
                        f'it was moved aside to {aside} and will not be used. The server (or mirror) may hold another '
                        f'file under this name, or the transfer was corrupted. Delete {aside} and try again, or '
                        f'download it by hand from the original source: `{manual_command(url, target)}`.')
    os.replace(part, target)
    return target


def _reason(error):
    """The innermost cause of a requests error, in a few words."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    return (str(error).splitlines() or [type(error).__name__])[0][:200]
