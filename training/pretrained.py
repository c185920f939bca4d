"""Pretrained weights in pretrain/: verified, converted to MMSeg's layout once, and proven loaded.

MMSeg loads backbone weights with strict=False, so a file in the wrong layout does not fail: it
silently trains from a random backbone. Here every file is
1. verified: a name ending in -<8 hex digits>.pth must match the start of the file's SHA-256
   (torchvision's convention), and the file must be readable;
2. converted, when its layout is not MMSeg's (the Swin authors' release, timm's ViT), into
   pretrain/converted/<name>.<sha8>.mmseg.pth, written once and reused (the original is never touched);
3. counted after the model initialised its weights: every backbone tensor must equal the file's
   (or, for position tables the backbone resizes, be present in it), else training stops.
"""
import os
import re
from dataclasses import dataclass
from typing import Optional

import torch

from .data import downloads
from .config import pretrained_ref
from .errors import UserError

# file name in pretrain/ -> where to download it (the original description's files first)
PRETRAINED_URLS = {
    'resnet50-11ad3fa6.pth': 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
    'swin_base_patch4_window12_384_22k.pth':
        'https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window12_384_22k.pth',
    'jx_vit_base_p16_384-83fb41ba.pth':
        'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-vitjx/jx_vit_base_p16_384-83fb41ba.pth',
    'mit_b0_20220624-7e0fe6dd.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth',
    'poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth':
        'https://download.openmmlab.com/mmpretrain/v1.0/poolformer/poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth',
    # the official recipes' own weights for the models none of the five files fits
    'hrnetv2_w18-00eb2006.pth': 'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w18-00eb2006.pth',
    'mscan_t_20230227-119e8c9f.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segnext/mscan_t_20230227-119e8c9f.pth',
    'jx_vit_large_p16_384-b3be5167.pth':
        'https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-vitjx/jx_vit_large_p16_384-b3be5167.pth',
    'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth':
        'https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth',
    'resnest101_d2-f3b931b2.pth': 'https://download.openmmlab.com/pretrain/third_party/resnest101_d2-f3b931b2.pth',
    'pcpvt_small_20220308-e638c41c.pth':
        'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/twins/pcpvt_small_20220308-e638c41c.pth',
}


class PretrainedError(Exception):
    """A pretrained file is missing, corrupt, of the wrong kind, or did not load."""


# ---- layouts ---------------------------------------------------------------------------------
def _swin_official_to_mmseg(state):
    """The Swin authors' keys -> MMSeg's SwinTransformer (what MMSeg's swin2mmseg.py does)."""
    def unfold_order(x):  # PatchMerging: official concat order x0,x1,x2,x3 -> nn.Unfold's order
        if x.dim() == 2:
            out_channels, in_channels = x.shape
            x = x.reshape(out_channels, 4, in_channels // 4)
            return x[:, [0, 2, 1, 3], :].transpose(1, 2).reshape(out_channels, in_channels)
        x = x.reshape(4, x.shape[0] // 4)
        return x[[0, 2, 1, 3], :].transpose(0, 1).reshape(-1)

    converted = {}
    for key, value in state.items():
        if key.startswith('head'):
            continue
        if key.startswith('layers'):
            if 'attn.' in key:
                key = key.replace('attn.', 'attn.w_msa.')
            elif 'mlp.fc1.' in key:
                key = key.replace('mlp.fc1.', 'ffn.layers.0.0.')
            elif 'mlp.fc2.' in key:
                key = key.replace('mlp.fc2.', 'ffn.layers.1.')
            elif 'downsample' in key and ('reduction.' in key or 'norm.' in key):
                value = unfold_order(value)
            key = key.replace('layers', 'stages', 1)
        elif key.startswith('patch_embed.proj'):
            key = key.replace('patch_embed.proj', 'patch_embed.projection')
        converted[key] = value
    return converted


def _timm_vit_to_mmseg(state):
    """timm's VisionTransformer keys -> MMSeg's VisionTransformer (what MMSeg's vit2mmseg.py does)."""
    converted = {}
    for key, value in state.items():
        if key.startswith('head'):
            continue
        if key.startswith('norm.'):
            key = 'ln1.' + key[len('norm.'):]
        elif key.startswith('patch_embed.proj'):
            key = key.replace('patch_embed.proj', 'patch_embed.projection')
        elif key.startswith('blocks.'):
            key = (key.replace('blocks.', 'layers.', 1).replace('.norm', '.ln')
                   .replace('mlp.fc1', 'ffn.layers.0.0').replace('mlp.fc2', 'ffn.layers.1')
                   .replace('attn.qkv.', 'attn.attn.in_proj_').replace('attn.proj', 'attn.attn.out_proj'))
        converted[key] = value
    return converted


# layout of each file the configs name -> (converter or None, backbone keys the file cannot have,
#                                        file keys the backbone has no use for)
LAYOUTS = {
    'resnet50-11ad3fa6.pth': (None, None, r'^fc\.'),                    # torchvision = type='ResNet'; classifier
    'swin_base_patch4_window12_384_22k.pth': (                         # MMSeg's per-stage output norms are new;
        _swin_official_to_mmseg, r'^norm\d\.', r'^norm\.|attn_mask$'),  # the final norm and masks are not used
    'jx_vit_base_p16_384-83fb41ba.pth': (_timm_vit_to_mmseg, None, r'^ln1\.'),  # final norm, if the model has none
    'jx_vit_large_p16_384-b3be5167.pth': (_timm_vit_to_mmseg, None, r'^ln1\.'),
    'mit_b0_20220624-7e0fe6dd.pth': (None, None, None),                # already MMSeg's layout
    'poolformer_s12_8xb256_in1k_20221230-a59e4e30.pth': (None, r'^norm[024]\.', None),  # output norms of stages 0-2
}
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8})\.pth$')  # torchvision's and OpenMMLab's: the SHA-256's first 8 hex digits
# tensors a backbone resizes to the crop while loading (position tables): present is enough
RESIZED_BY_BACKBONE = re.compile(r'(^|\.)(pos_embed|absolute_pos_embed|relative_position_bias_table)$')


# ---- verify and convert ----------------------------------------------------------------------
def sha256_of(path):
    return downloads.file_digest(path, 'sha256')


def state_dict_of(checkpoint):
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def load_verified(path, how_to_get):
    """The checkpoint at `path` after the hash check; errors say how to get a good copy."""
    if not os.path.isfile(path):
        raise PretrainedError(f'Pretrained weights not found: {path}. {how_to_get}')
    digest = sha256_of(path)
    expected = HASH_IN_NAME.search(os.path.basename(path))
    if expected and not digest.startswith(expected.group(1)):
        raise PretrainedError(
            f'{path} is not the file its name promises: its SHA-256 starts with {digest[:8]}, the name says '
            f'{expected.group(1)} (an interrupted download or another file renamed). Delete it and download it '
            f'again. {how_to_get}')
    try:
        checkpoint = torch.load(path, map_location='cpu')  # weights_only: plain tensors and containers
    except Exception as error:  # truncated zip, not a checkpoint, pickled code...
        raise PretrainedError(f'{path} cannot be read as a weight file ({type(error).__name__}: '
                              f'{str(error).splitlines()[0][:200]}). Delete it and download it again. {how_to_get}')
    return checkpoint, digest


def _downloaded_weights_check(file_name):
    """verify() for downloads.fetch: a name with a hash prefix must match the file's SHA-256; a file without one
    must at least read as a checkpoint (its tensors are then counted as every file's are, when the model loads)."""
    expected = HASH_IN_NAME.search(file_name)

    def check(path):
        if expected:
            digest = sha256_of(path)
            return None if digest.startswith(expected.group(1)) else f'sha256-{digest[:8]}'
        try:
            torch.load(path, map_location='cpu', mmap=True)
        except Exception:  # truncated, not a checkpoint, pickled code
            return 'unreadable'
        return None
    return check


def prepare(path, layout_of, how_to_get):
    """Verifies `path`; returns (file to load, its state dict in MMSeg's layout, not_in_file, unused_ok).

    `layout_of` is the file name the config names: a --pretrain file has the layout of the file it replaces.
    """
    convert, not_in_file, unused_ok = LAYOUTS.get(os.path.basename(layout_of), (None, None, None))
    checkpoint, digest = load_verified(path, how_to_get)
    state = state_dict_of(checkpoint)
    if convert is None:
        return path, state, not_in_file, unused_ok
    stem = os.path.basename(path)[:-len('.pth')]
    if not stem.endswith(digest[:8]):  # the cache follows the file's content, not only its name
        stem = f'{stem}.{digest[:8]}'
    converted_dir = os.path.join(os.path.dirname(path), 'converted')
    converted_path = os.path.join(converted_dir, f'{stem}.mmseg.pth')
    converted = convert(state)
    if not os.path.isfile(converted_path):
        os.makedirs(converted_dir, exist_ok=True)
        partial = f'{converted_path}.partial-{os.getpid()}'
        torch.save(converted, partial)
        os.replace(partial, converted_path)  # atomic: an interrupted conversion leaves no bad cache
    return converted_path, converted, not_in_file, unused_ok


# ---- prove it loaded -------------------------------------------------------------------------
def _either(*patterns):
    """One regular expression matching any of `patterns` (None where all are None)."""
    present = [p for p in patterns if p]
    return '|'.join(f'(?:{p})' for p in present) or None


def count_loaded(backbone, file_state, not_in_file=None, unused_ok=None, prefix=''):
    """(loaded, expected, missing, unused, new): backbone tensors equal to the file's out of all it should get,
    the ones it did not get, the file's tensors the backbone did not take (beyond `unused_ok`), and how many
    tensors the backbone itself declares new (a backbone class's NEW_PARAMETERS: an adapter around a ViT, the
    semantic layers inside a Swin; likewise its UNUSED_PRETRAINED)."""
    new_parameters = getattr(type(backbone), 'NEW_PARAMETERS', None)
    not_in_file = _either(not_in_file, new_parameters)
    unused_ok = _either(unused_ok, getattr(type(backbone), 'UNUSED_PRETRAINED', None))
    if prefix:
        file_state = {k[len(prefix):]: v for k, v in file_state.items() if k.startswith(prefix)}
    full_state = backbone.state_dict()
    model_state = {k: v for k, v in full_state.items() if not k.endswith('num_batches_tracked')}
    expected = {k: v for k, v in model_state.items() if not (not_in_file and re.search(not_in_file, k))}
    missing = []
    for key, value in expected.items():
        source = file_state.get(key)
        if source is None:
            missing.append(key)
        elif source.shape != value.shape:
            if not RESIZED_BY_BACKBONE.search(key):
                missing.append(key)
        elif not torch.equal(source.to(value.dtype).cpu(), value.detach().cpu()):
            missing.append(key)
    unused = [k for k in file_state if k not in full_state and not (unused_ok and re.search(unused_ok, k))]
    new = sum(1 for k in model_state if new_parameters and re.search(new_parameters, k))
    return len(expected) - len(missing), len(expected), missing, unused, new


# ---- the config's weight file, for a run ---------------------------------------------------------
@dataclass
class PretrainedFile:
    """A run's backbone weight file, verified: what check_loaded counts against the initialised backbone."""
    path: str                    # the file the config names, or --pretrain's
    loaded_from: str             # the file the model loads: `path`, or its conversion to MMSeg's layout
    state: Optional[dict]        # its tensors in MMSeg's layout (None once counted: see release)
    not_in_file: Optional[str]   # backbone keys the file cannot have (a regular expression)
    unused_ok: Optional[str]     # file keys the backbone has no use for
    prefix: str = ''             # the part of the file's keys that init_cfg.prefix selects

    def release(self):
        """Lets the file's tensors go once they are counted (a ViT-L file holds 1.2 GB)."""
        self.state = None


def prepare_for(cfg, name, path=None, download=True, missing_ok=False):
    """Verifies (and converts, once) the backbone's weight file of `cfg`, downloaded first where it is missing
    (unless `download` is False or downloads are off); points the config at the file to load.

    Returns the PretrainedFile, or None when the model has no pretrained weights (or, with `missing_ok`, when the
    file is not there yet: the config is then left as it is).
    """
    ref = pretrained_ref(cfg.model)
    if ref is None:
        if path:
            raise UserError(f'--pretrain was given, but train_{name}.py loads no pretrained backbone.')
        return None
    holder, key = ref
    named = holder[key]
    if '://' in named:
        raise UserError(
            f'The config of train_{name}.py loads pretrained weights from {named}, which cannot be fetched offline. '
            f'Download the file into pretrain/ and point the config at it, or use --no-pretrain.')
    url = PRETRAINED_URLS.get(os.path.basename(named))
    if path:
        how_to_get = f'Check the file given to --pretrain, or leave --pretrain out to use {named}.'
    else:
        how_to_get = (f'Download it with: wget {url} -P {os.path.dirname(named) or "."}/' if url else
                      f'Put the file at {named}.') + f'  (or train from scratch with: python train_{name}.py --no-pretrain)'
    path = path or named
    url = downloads.url_of(os.path.basename(path), PRETRAINED_URLS.get(os.path.basename(path)))
    if not os.path.isfile(path) and url and download and downloads.allowed():
        downloads.fetch(url, path, verify=_downloaded_weights_check(os.path.basename(path)))
    if missing_ok and not os.path.isfile(path):
        return None
    try:
        holder[key], state, not_in_file, unused_ok = prepare(path, named, how_to_get)
    except PretrainedError as error:
        raise UserError(str(error)) from error
    prefix = holder.get('prefix', '') if key == 'checkpoint' else ''
    return PretrainedFile(path=path, loaded_from=holder[key], state=state, not_in_file=not_in_file,
                          unused_ok=unused_ok, prefix=prefix)


def check_loaded(backbone, weights):
    """`pretrained: loaded N/M backbone tensors from FILE` (`weights`: a PretrainedFile); anything not loaded, or
    left over, is an error."""
    loaded, expected, missing, unused, new = count_loaded(
        backbone, weights.state, weights.not_in_file, weights.unused_ok, weights.prefix)
    via = f' (converted: {weights.loaded_from})' if weights.loaded_from != weights.path else ''
    line = f'pretrained: loaded {loaded}/{expected} backbone tensors from {weights.path}{via}'
    if new:
        line += f'; {new} tensors of {type(backbone).__name__} newly initialised (not in the file by design)'
    if missing or unused:
        def some(keys):
            return ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')
        problems = ([f'not loaded: {some(missing)}'] if missing else []) + (
            [f'{len(unused)} tensors of the file unused: {some(unused)}'] if unused else [])
        raise UserError(f'{line}; {"; ".join(problems)}. {weights.path} does not fit this backbone: is it the '
                        f'right file for this model (--pretrain takes a file of the same format)? '
                        f'Use --no-pretrain to train from scratch on purpose.')
    return line
