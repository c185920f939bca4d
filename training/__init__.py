"""The machinery behind the train_<name>.py scripts, one module per job (the scripts import common.py):

config        loading a model's MMSeg config; the edits to crop, data, schedule, pipelines
cli           the shared command line
runner        command-line flags on a script's config, the checks, the Runner, train()
resume        continuing a run: atomic checkpoints, fast resume, the edited-config guard, a grown --iters
preemption    SIGTERM/SIGINT: a checkpoint at the current iteration, then exit 143/130 for a requeue
faults        a full disk, a killed loader worker: one paragraph each, nothing lost
checkpoints   finding and reading checkpoints and logs; checkpoints in plain types
trained       a trained checkpoint with its config (evaluate.py, infer.py)
pretrained    pretrained weight files: downloaded where missing, verified, converted, counted
downloads     resumable, verified HTTP downloads (a mirror, offline mode); ade_download: make data
dataset_check the ADE20K directory check; tiny_ade: the generated tiny subset; smoke: --smoke
launch        processes (torchrun, Slurm) and device (GPU or CPU, said out loud)
speed         loader workers, AMP, TF32; mmcv_ops: MMCV's ops under AMP/channels-last, on CUDA, which kind
mmcv_ext_pytorch  MMCV's op library in pure PyTorch (MMCV_OPS=pytorch installs it as mmcv._ext)
collection    training a set of the scripts as jobs (run_all.py): local GPUs or Slurm, through submitit
compat        what the pinned stack needs to work together
experiments   the scripts as experiments: names, OFFICIAL figures
benchmark     the speed benchmark behind tools/benchmark.py; gpu_check: behind make gpu-check
install_plan  how tools/install.sh builds MMCV's ops here; cuda_env: GPU, driver and compiler facts
models        the project's own MMSeg modules (ViT-Adapter, SeMask)
"""
