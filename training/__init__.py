"""The machinery behind the train_<name>.py scripts, one module per job (the scripts import common.py):

runner          a training run, step by step: train(), the entry point of every script
run_config      the config of one run, assembled in one place (what --print-config prints)
arguments       the shared command line, and the command that reruns it with other choices
config          loading a model's MMSeg config; the edits to crop, data, schedule, pipelines
paths           the repository, the scripts, the data and work-dir patterns
experiments     the scripts as experiments: names, OFFICIAL figures
project_runner  MMEngine's Runner as the project builds it; hooks: what a run says and checks as it trains
checkpoints     finding and reading checkpoints and logs; checkpoint_format: written atomically, in plain types
reproducibility the seed, each sample's augmentation seeded by its position, the random states in every checkpoint
visualization   at every validation: prediction panels and per-class IoU; html_report: the HTML page of runs
validation_loss at every validation: the heads' losses on the validation images, from the validation's own pass
trackers        --log-to: TensorBoard, W&B, MLflow; a run continued continues its tracker run; a dead server costs
                training nothing
run_summary     what a work dir says about its run: its model (from its own config), smoke or not, best mIoU, time
resume/         continuing a run: where from, fast, the edited-config guard, a grown --iters, a new config
preemption      SIGTERM/SIGINT: a checkpoint at the current iteration, then exit 143/130 for a requeue
faults          a full disk, a killed loader worker: one paragraph each, nothing lost; disk: free space, sizes
launch          processes (torchrun, Slurm; which node runs which ranks) and device (GPU or CPU, said out loud)
lost_peers      a node that dies or freezes: the survivors end within --dist-timeout, naming the lost ranks
torchrun_status tools/torchrun.py: torchrun whose exit status is the run's (143 after a clean stop)
speed           loader workers, AMP, TF32; precision: --amp on each machine; smoke: --smoke
compiling       --compile: the model's tensor path compiled in place, validation eager, recompiles explained
pretrained      pretrained weight files: downloaded where missing, verified, converted, counted
data/           the ADE20K check, the tiny subset, downloads, make data
mmcv_ops        MMCV's ops under AMP/channels-last, on CUDA, which kind; mmcv_ext_pytorch: MMCV's op library in pure
                PyTorch (the default install puts it in MMCV as mmcv._ext)
trained         a trained checkpoint with its config (evaluate.py, infer.py, export.py)
onnx_export     export.py: a trained segmentor as standard ONNX, checked in onnxruntime; infer.py --onnx
collection/     training a set of the scripts as jobs (run_all.py): local GPUs or Slurm, through submitit
measure/        tools/benchmark.py (speed, --amp agreement, --compile and its report, validation costs), make
                gpu-check, tools/gpu_report.sh, tools/export_report.py (docs/export.md)
install/        how tools/install.sh builds (or does not build) MMCV's ops, its checks; cuda_env: GPU, driver and
                compiler facts
compat          what the pinned stack needs to work together, and the one way to its private APIs
models/         the project's own MMSeg modules (ViT-Adapter, SeMask)
"""
