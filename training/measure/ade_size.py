"""ADE-size images for the benchmarks that need them: ADE20K itself where it is there, else the tiny subset enlarged."""
import glob
import os
import tempfile

from ..data.dataset_check import check_data
from ..smoke import SMOKE_DATA_ROOT


def ade_size_data(protocol_root):
    """ADE20K itself where it is there, else the tiny subset's images and annotations enlarged to 683x512 (ADE20K's
    typical size) in a temporary folder of the same layout."""
    import cv2
    if os.path.isdir(protocol_root):
        return protocol_root
    check_data(SMOKE_DATA_ROOT, 'fcn', generate_tiny=True)
    root = tempfile.mkdtemp(prefix='ade_size_')
    for split in ('training', 'validation'):
        for kind, ext, interpolation in (('images', 'jpg', cv2.INTER_LINEAR), ('annotations', 'png', cv2.INTER_NEAREST)):
            os.makedirs(os.path.join(root, kind, split))
            for path in glob.glob(os.path.join(SMOKE_DATA_ROOT, kind, split, f'*.{ext}')):
                image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
                cv2.imwrite(os.path.join(root, kind, split, os.path.basename(path)),
                            cv2.resize(image, (683, 512), interpolation=interpolation))
    return root

