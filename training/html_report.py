"""One self-contained HTML page of any number of runs (summarize.py --html; run_all.py writes <folder>/report.html):
no server, every image embedded.

- at the top, the table of the runs (model, run, iterations, best mIoU, official mIoU, difference), each model
  linking to its section; smoke runs are marked and never compared with the official mIoU;
- a section per run (folded, so that 27 stay readable): its loss (train and validation), learning-rate and mIoU
  curves from its logs (MMEngine's scalars.json), the per-class IoU of its best validation sorted (the worst 20 and
  the best 20), and the prediction panels of its last validation (visualization.py).
"""
import base64
import html
import io
import os

from .checkpoints import read_scalars
from .visualization import last_panels, read_per_class

SHOWN_CLASSES = 20  # the worst and the best, each
# (a page opened in a browser says whether every image loaded: the tests read it from the DOM)
LOADED_CHECK = ('<script>window.addEventListener("load", () => { const images = [...document.images]; '
                'document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length '
                '+ "/" + images.length; });</script>')
STYLE = '''body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { border: 1px solid #ccc; padding: 3px 8px; }
td.number { text-align: right; } details { margin: 1em 0; border-top: 1px solid #999; padding-top: 0.5em; }
summary { font-size: 1.2em; cursor: pointer; } .classes { display: flex; gap: 2em; } img { max-width: 100%; }
.note { color: #a40; }'''


def _image(data, mime='image/png', alt=''):
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{base64.b64encode(data).decode()}">'


def _curves(records):
    """PNG bytes of the loss, learning-rate and mIoU curves of one run's scalars (None where it logged none)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    def points(key):
        return sorted(dict((r['step'], r[key]) for r in records if key in r).items())  # (a resume logs steps again)
    plots = {'loss': {'train loss': points('loss'), 'val loss': points('val_loss')},
             'lr': {'lr': points('lr')}, 'mIoU': {'mIoU': points('mIoU')}}
    if not any(series for lines in plots.values() for series in lines.values()):
        return None
    fig, axes = plt.subplots(1, 3, figsize=(12, 3))
    for ax, (title, lines) in zip(axes, plots.items()):
        for label, series in lines.items():
            if series:
                steps, values = zip(*series)
                ax.plot(steps, values, marker='o' if len(steps) < 20 else None, label=label)
        if len(lines) > 1 and any(lines.values()):
            ax.legend(fontsize=8)
        ax.set_title(title)
        ax.set_xlabel('iteration')
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def _jpeg(path):
    from PIL import Image
    buffer = io.BytesIO()
    Image.open(path).convert('RGB').save(buffer, format='JPEG', quality=85)
    return buffer.getvalue()


def best_validation_classes(work_dir, best_step):
    """{class: IoU} of the validation at `best_step` (the last record of that step), or {}."""
    records = [r for r in read_per_class(work_dir) if r['step'] == best_step]
    return {name: value for name, value in records[-1]['IoU'].items() if value is not None} if records else {}


def _class_table(title, items):
    rows = ''.join(f'<tr><td>{html.escape(name)}</td><td class="number">{value:.2f}</td></tr>' for name, value in items)
    return f'<div><h4>{title}</h4><table class="per-class"><tr><th>class</th><th>IoU</th></tr>{rows}</table></div>'


def run_section(row):
    """The section of one run: its curves, the per-class IoU of its best validation, its last panels."""
    anchor = row.get('anchor', f'run-{row["model"]}')
    parts = [f'<details id="{anchor}"{" open" if row.get("open") else ""}><summary>{html.escape(row["model"])}'
             f'{" (smoke run)" if row["smoke"] else ""}: best mIoU {row["best_miou"]:.2f} at iteration '
             f'{row["best_iter"]}</summary>', f'<p>{html.escape(row["work_dir"])}</p>']
    curves = _curves(read_scalars(row['work_dir']))
    if curves:
        parts.append('<h3>loss (train and validation), learning rate, mIoU</h3>'
                     + _image(curves, alt=f'{row["model"]} curves'))
    classes = best_validation_classes(row['work_dir'], row['best_iter']).items()
    if classes:
        worst = sorted(classes, key=lambda item: (item[1], item[0]))[:SHOWN_CLASSES]
        best = sorted(classes, key=lambda item: (-item[1], item[0]))[:SHOWN_CLASSES]
        parts.append(f'<h3>per-class IoU of the best validation (iteration {row["best_iter"]}, {len(classes)} classes '
                     f'present)</h3><div class="classes">' + _class_table(f'worst {len(worst)}', worst)
                     + _class_table(f'best {len(best)}', best) + '</div>')
    step, pictures = last_panels(row['work_dir'])
    if pictures:
        parts.append(f'<h3>predictions at the last validation (iteration {step}): image | ground truth | '
                     f'prediction</h3>' + ''.join(f'<p>{_image(_jpeg(path), "image/jpeg", os.path.basename(path))}</p>'
                                                  for path in pictures))
    parts.append('</details>')
    return '\n'.join(parts)


def with_anchors(rows):
    """The rows, each with its section's anchor: run-<model>, run-<model>-2 ... where runs of one model repeat."""
    seen, anchored = {}, []
    for row in rows:
        seen[row['model']] = seen.get(row['model'], 0) + 1
        count = seen[row['model']]
        anchored.append(dict(row, anchor=f'run-{row["model"]}' + (f'-{count}' if count > 1 else '')))
    return anchored


def write_html(rows, out, note=None):
    """The page of `rows` (summarize.collect's, each with model, work_dir, smoke, best_miou, best_iter, official,
    iterations) at `out`."""
    def number(value, fmt):
        return '—' if value is None else format(value, fmt)
    table = ['<table class="runs"><tr><th>model</th><th>run</th><th>iterations</th><th>best mIoU</th>'
             '<th>official mIoU</th><th>difference</th></tr>']
    rows = with_anchors(rows)
    for row in rows:
        difference = '— (smoke run)' if row['smoke'] else number(
            None if row['official'] is None else row['best_miou'] - row['official'], '+.2f')
        table.append(f'<tr><td><a href="#{row["anchor"]}">{html.escape(row["model"])}</a></td>'
                     f'<td>{"smoke" if row["smoke"] else "full"}</td><td class="number">{row["iterations"]}</td>'
                     f'<td class="number best-miou">{row["best_miou"]:.2f}</td>'
                     f'<td class="number">{number(row["official"], ".2f")}</td><td class="number">{difference}</td></tr>')
    table.append('</table>')
    sections = [run_section(dict(row, open=index == 0)) for index, row in enumerate(rows)]
    page = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>ADE20K runs</title><style>{STYLE}</style>'
            f'</head><body><h1>ADE20K runs ({len(rows)})</h1>'
            + (f'<p class="note">{html.escape(note)}</p>' if note else '') + '\n'.join(table + sections)
            + LOADED_CHECK + '</body></html>')
    with open(out, 'w') as f:
        f.write(page)
    return out
