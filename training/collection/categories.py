"""The collection's models by the original description's categories, and choosing models by name or category."""
from ..errors import UserError
from ..experiments import all_names

# The original description's categories. Where a model could sit in two (SegNeXt's convolutional attention,
# SeMask's Swin backbone, PoolFormer's pooling "Transformer"), the category follows the model's main idea.
CATEGORIES = {
    '基础卷积': ('conv', ['fcn', 'pspnet', 'deeplabv3plus', 'upernet']),
    '注意力机制': ('attention', ['ocrnet', 'gcnet', 'isanet', 'nonlocal', 'dnlnet', 'psanet', 'segnext']),
    'Transformer': ('transformer', ['segformer', 'swin', 'segmenter', 'setr', 'vit_deit', 'twins', 'sem_fpn']),
    '实例分割': ('mask', ['mask2former', 'maskformer', 'knet', 'pointrend']),
    '轻量级': ('lightweight', ['mobilenetv2', 'stdc']),
    '其他': ('other', ['poolformer', 'fastfcn', 'resnest']),
}


def category_models(name):
    """The models of a category, by its name in the original description or its English key."""
    for chinese, (english, models) in CATEGORIES.items():
        if name in (chinese, english):
            return models
    known = ', '.join(f'{chinese} ({english})' for chinese, (english, _) in CATEGORIES.items())
    raise UserError(f'Unknown category {name!r}: the categories are {known}.')


def select(models, category=None):
    """The models to train, in the collection's order: `models` (names, or 'all'), or a category's."""
    names = all_names()
    wanted = category_models(category) if category else (names if not models or models == ['all'] else models)
    unknown = [m for m in wanted if m not in names]
    if unknown:
        raise UserError(f'No train_<model>.py for {", ".join(unknown)}: the models are {", ".join(names)}.')
    return [m for m in names if m in wanted]
