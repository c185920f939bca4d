"""The ONNX export table of the collection (docs/export.md): each model's smoke checkpoint exported by export.py at a
fixed size and with --dynamic, and checked in onnxruntime against PyTorch (training/measure/export_report.py).

    python tools/export_report.py all --markdown docs/export.md
    python tools/export_report.py fcn psanet
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from training.experiments import all_names  # noqa: E402
from training.measure.export_report import export_report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+', help=f'model names or "all": {" ".join(all_names())}')
    parser.add_argument('--markdown', metavar='FILE', help='write the table to FILE (docs/export.md)')
    args = parser.parse_args(argv)
    models = all_names() if args.models == ['all'] else args.models
    unknown = sorted(set(models) - set(all_names()))
    if unknown:
        parser.error(f'unknown model(s) {", ".join(unknown)}')
    rows = export_report(models, args.markdown)
    return 0 if all(row.get('exports') for row in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
