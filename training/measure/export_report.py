"""The export table of the 27 models (tools/export_report.py -> docs/export.md): for each, a smoke checkpoint (one
iteration on the tiny subset), export.py at a fixed size and with --dynamic, each in a process of its own, and what
export.py's check says (label agreement, largest logit difference, onnxruntime and PyTorch latency on this CPU)."""
import json
import os
import subprocess
import sys
import tempfile

from ..paths import REPO_ROOT, script_file

SIZE = '64x64'  # the smoke runs' crop scale (the protocol's 512x512 scaled by 1/8)


def _run(args, timeout=1800):
    result = subprocess.run([sys.executable, *map(str, args)], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def _checks(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith('{')]
    return json.loads(lines[-1]) if lines else None


def _error(stderr):
    lines = [line for line in stderr.strip().splitlines() if line.startswith('error: ')]
    return (lines[-1][len('error: '):] if lines else stderr.strip().splitlines()[-1] if stderr.strip() else '?')[:300]


def export_row(model, folder):
    work_dir = os.path.join(folder, model)
    code, _, stderr = _run([script_file(model), '--smoke', '--iters', 1, '--no-val-report', '--work-dir', work_dir,
                            '--cfg-options', 'default_hooks.checkpoint.save_best=None'])
    if code:
        return dict(model=model, exports=False, reason=f'the smoke run failed: {_error(stderr)}')
    row = dict(model=model)
    code, stdout, stderr = _run(['export.py', work_dir, '--shape', SIZE, '--json'])
    static = _checks(stdout)
    if static is None:
        return dict(row, exports=False, reason=_error(stderr))
    check = static['checks'][0]
    row.update(exports=code == 0, opset=static['opset'], agreement=check['agreement'],
               max_logit_difference=check['max_logit_difference'], onnxruntime_ms=check['onnxruntime_ms'],
               pytorch_ms=check['pytorch_ms'], reason=None if code == 0 else 'labels agree on too few pixels')
    code, stdout, stderr = _run(['export.py', work_dir, '--shape', SIZE, '--dynamic', '--json', '--out',
                                 os.path.join(work_dir, 'export', 'dynamic.onnx')])
    dynamic = _checks(stdout)
    row['dynamic'] = bool(dynamic and code == 0)
    row['dynamic_note'] = None if row['dynamic'] else (_error(stderr) if dynamic is None else
                                                        'labels agree on too few pixels at the second size')
    return row


def export_report(models, markdown=None):
    rows = []
    with tempfile.TemporaryDirectory(prefix='export_report_') as folder:
        for model in models:
            rows.append(export_row(model, folder))
            print(json.dumps(rows[-1]), flush=True)
    if markdown:
        with open(markdown, 'w') as f:
            f.write(report_markdown(rows))
    return rows


def report_markdown(rows):
    lines = ['| model | exports | opset | fixed size | dynamic H, W | labels agree | largest logit difference | '
             'onnxruntime ms | PyTorch ms |', '|---' * 9 + '|']
    for row in rows:
        if not row.get('exports') and 'agreement' not in row:
            lines.append(f"| {row['model']} | no: {row['reason']} |" + ' |' * 7)
            continue
        difference = row['max_logit_difference']
        dynamic = 'yes' if row['dynamic'] else f"no: {row['dynamic_note'][:160]}"
        lines.append(f"| {row['model']} | {'yes' if row['exports'] else 'no: ' + row['reason']} | {row['opset']} | "
                     f"{SIZE} | {dynamic} | {100 * row['agreement']:.3f}% | "
                     f"{'—' if difference is None else f'{difference:.1e}'} | {row['onnxruntime_ms']} | "
                     f"{row['pytorch_ms']} |")
    return '\n'.join(lines) + '\n'
