"""Measuring rather than training: benchmark (tools/benchmark.py: training speed, ours vs official), gpu_check
(make gpu-check) and gpu_report (the Python steps of tools/gpu_report.sh)."""
