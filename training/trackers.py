"""--log-to: where a run's scalars, images and results go besides MMEngine's local JSON (always written): TensorBoard
(the default), Weights & Biases, MLflow; `--log-to tensorboard,wandb,mlflow`, a script's `cfg.log_to`, run_all.py's
--log-to.

The W&B and MLflow backends are the project's own (MMEngine 0.10.7's WandbVisBackend calls the removed wandb.join() at
close and ignores the step; its MLflowVisBackend fails at close without add_config, uploads artifacts only at close and
is refused mlflow 3's file store). Both:
- name the run after its work dir, tag it with its model, and log at our iteration (`step`);
- continue the same tracker run when the run continues (its id is kept in <work_dir>/trackers.json). After a SIGTERM
  the rerun starts after the last logged step. After a kill -9 the rerun trains again the steps since the last
  checkpoint: MLflow gets only those its server had not acknowledged (trackers.json keeps the last one); W&B gets them
  all and, as for any resumed run, keeps a step it already has and drops the repeat (what the killed process had not
  flushed yet is then filled in);
- never stop training. W&B: without WANDB_API_KEY (or with WANDB_MODE=offline) it logs offline into the work dir,
  `wandb sync` uploads it later; if W&B cannot start, the run goes on without it (one warning). MLflow: every call
  goes through a background thread that retries (one warning when the server stops answering, one when it answers
  again), so a dead server costs training nothing; at the end it waits at most MLFLOW_CLOSE_WAIT seconds (default 60)
  for what is left, and says how much was not sent (the local scalars.json has everything).
MLflow's store is MLFLOW_TRACKING_URI, else a SQLite file in the work dir (mlflow.db, artifacts in mlflow_artifacts/).
At the end of a run, also one stopped by a signal, the best checkpoint and the run's HTML report go up as artifacts.
"""
import atexit
import json
import os
import queue
import secrets
import threading
import time

from mmengine.registry import VISBACKENDS
from mmengine.visualization.vis_backend import BaseVisBackend

from mmengine.hooks import Hook

from .checkpoints import best_checkpoint
from .errors import UserError

TRACKERS = ('tensorboard', 'wandb', 'mlflow')
DEFAULT = ('tensorboard',)
# the optional extras (requirements-trackers.txt): not needed for the default
PACKAGES = {'wandb': 'wandb==0.31.0', 'mlflow': 'mlflow==3.18.0'}
STATE_FILE = 'trackers.json'  # <work_dir>/trackers.json: each tracker's run id and last logged step
PROJECT = 'ade20k-segmentation'  # W&B project and MLflow experiment unless WANDB_PROJECT / MLFLOW_EXPERIMENT_NAME


# ---- the choice --------------------------------------------------------------------------------------------------
def parse_log_to(text):
    """('tensorboard', 'wandb', ...) from 'tensorboard,wandb'; a UserError for an unknown name."""
    names = tuple(dict.fromkeys(name.strip().lower() for name in text.split(',') if name.strip()))
    unknown = [name for name in names if name not in TRACKERS]
    if unknown or not names:
        raise UserError(f'--log-to {text!r}: {"unknown tracker " + ", ".join(unknown) if unknown else "no tracker"}; '
                        f'choose from {",".join(TRACKERS)} (comma-separated, e.g. --log-to tensorboard,wandb).')
    return names


def set_trackers(cfg):
    """The visualizer's backends from cfg.log_to (the local JSON always first); a UserError with the pip line where
    a chosen tracker's package is missing."""
    names = parse_log_to(','.join(cfg.log_to)) if not isinstance(cfg.log_to, str) else parse_log_to(cfg.log_to)
    for name in names:
        if name in PACKAGES and not _importable(name):
            raise UserError(f'--log-to {name}: the {name} package is not installed in this environment (it is an '
                            f'optional extra). Install it with: .venv/bin/pip install {PACKAGES[name]} (or all '
                            f'trackers: .venv/bin/pip install -r requirements-trackers.txt), or drop {name} from '
                            f'--log-to.')
    cfg.log_to = list(names)
    backends = {'tensorboard': 'TensorboardVisBackend', 'wandb': WandbTracker.__name__,
                'mlflow': MLflowTracker.__name__}
    cfg.vis_backends = [dict(type='LocalVisBackend')] + [dict(type=backends[name]) for name in names]
    cfg.visualizer.vis_backends = [dict(backend) for backend in cfg.vis_backends]


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


# ---- what the backends share -------------------------------------------------------------------------------------
def _work_dir(save_dir):
    # MMEngine gives a backend <work_dir>/<timestamp>/vis_data
    return os.path.dirname(os.path.dirname(os.path.abspath(save_dir)))


def read_state(work_dir):
    path = os.path.join(work_dir, STATE_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)


_STATE_LOCK = threading.Lock()  # (MLflow's sender thread and the training thread both write it)


def _write_state(work_dir, tracker, **values):
    with _STATE_LOCK:
        state = read_state(work_dir)
        state.setdefault(tracker, {}).update(values)
        partial = os.path.join(work_dir, STATE_FILE + '.partial')
        with open(partial, 'w') as f:
            json.dump(state, f, indent=1)
        os.replace(partial, os.path.join(work_dir, STATE_FILE))


def _config_values(config):
    """The resolved config as plain values."""
    return json.loads(json.dumps(config.to_dict(), default=str))


def training_params(config):
    """{key: value} of the resolved config's training keys, flattened (MLflow's params)."""
    cfg = _config_values(config)
    model = cfg.get('model', {})
    params = {'experiment': cfg.get('experiment'), 'model.type': model.get('type'),
              'model.backbone.type': (model.get('backbone') or {}).get('type'),
              'model.decode_head.type': _types(model.get('decode_head')),
              'model.auxiliary_head.type': _types(model.get('auxiliary_head')),
              'crop_size': cfg.get('crop_size'), 'batch_size': (cfg.get('train_dataloader') or {}).get('batch_size'),
              'data_root': cfg.get('data_root'), 'work_dir': cfg.get('work_dir'), 'launcher': cfg.get('launcher'),
              'load_from': cfg.get('load_from'), 'randomness': cfg.get('randomness')}
    for section in ('optim_wrapper', 'train_cfg'):
        params.update(_flattened(cfg.get(section) or {}, section))
    for index, scheduler in enumerate(cfg.get('param_scheduler') or []):
        params.update(_flattened(scheduler, f'param_scheduler.{index}'))
    return {key: str(value)[:500] for key, value in params.items() if value not in (None, '', [], {})}


def _types(heads):
    if isinstance(heads, list):
        return ','.join(str(head.get('type')) for head in heads)
    return (heads or {}).get('type')


def _flattened(values, prefix):
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flattened(value, f'{prefix}.{key}'))
        else:
            flat[f'{prefix}.{key}'] = value
    return flat


class Tracker(BaseVisBackend):
    """What both trackers share: the work dir, the steps already logged by an earlier process of the run, the end."""
    name = None  # 'wandb' / 'mlflow': its entry in trackers.json

    def __init__(self, save_dir, **kwargs):
        super().__init__(save_dir)
        self.work_dir = _work_dir(save_dir)
        self._started = False

    @property
    def experiment(self):
        return self._env()

    def _init_env(self):
        self._env()

    def _env(self):
        if not self._started:
            self._started = True
            try:
                self._start()
            except Exception as error:  # a tracker never stops training
                _warn(f'--log-to {self.name}: it did not start ({type(error).__name__}: {str(error)[:300]}); this run '
                      f'is not logged to it. Training goes on.')
                self._disable()
        return self

    def _disable(self):
        pass

    def _start(self):
        raise NotImplementedError

    def finish_run(self, finished, best_checkpoint=None, report=None):
        """The run's end (TrackerEnd): the result files go up, the tracker run is marked finished or stopped."""


def _warn(message):
    from mmengine.logging import print_log
    import logging
    print_log(message, logger='current', level=logging.WARNING)


class TrackerEnd(Hook):
    """At the end of training (also when a signal stopped it): the trackers get the best checkpoint and the run's
    HTML report, and mark their run finished or stopped."""

    priority = 'LOWEST'

    def after_train(self, runner):
        trackers = [runner.visualizer.get_backend(type_.__name__) for type_ in (WandbTracker, MLflowTracker)]
        trackers = [tracker for tracker in trackers if tracker is not None and tracker._started]
        if not trackers or runner.rank != 0:
            return
        from .html_report import write_html
        from .run_summary import collect, model_of_run
        report = os.path.join(runner.work_dir, 'report.html')
        rows = collect([(model_of_run(runner.work_dir), runner.work_dir)])
        if rows:
            write_html(rows, report)
        finished = runner.iter >= runner.max_iters
        for tracker in trackers:
            tracker.finish_run(finished, best_checkpoint(runner.work_dir), report if rows else None)


# ---- Weights & Biases ------------------------------------------------------------------------------------------
@VISBACKENDS.register_module()
class WandbTracker(Tracker):
    name = 'wandb'

    def __init__(self, save_dir, **kwargs):
        super().__init__(save_dir)
        self.run = None

    def _start(self):
        import wandb
        state = read_state(self.work_dir).get('wandb', {})
        run_id = state.get('run_id') or secrets.token_hex(4)  # (W&B's own ids are 8 characters too)
        _write_state(self.work_dir, 'wandb', run_id=run_id)
        mode = os.environ.get('WANDB_MODE')
        if not mode:
            mode = 'online' if os.environ.get('WANDB_API_KEY') else 'offline'
            if mode == 'offline':
                _warn(f'--log-to wandb: no WANDB_API_KEY: logging offline into {self.work_dir}/wandb; upload it '
                      f'later with: wandb sync {self.work_dir}/wandb/offline-run-*')
        options = dict(id=run_id, resume='allow', name=os.path.basename(self.work_dir), dir=self.work_dir,
                       project=os.environ.get('WANDB_PROJECT', PROJECT))
        try:
            self.run = wandb.init(mode=mode, **options)
        except Exception as error:  # (no network, a wrong key, a server that does not answer)
            _warn(f'--log-to wandb: W&B did not start ({type(error).__name__}: {str(error)[:200]}); logging offline '
                  f'into {self.work_dir}/wandb instead (wandb sync uploads it later). Training goes on.')
            try:
                self.run = wandb.init(mode='offline', **options)
            except Exception as error:
                _warn(f'--log-to wandb: W&B offline did not start either ({type(error).__name__}: '
                      f'{str(error)[:200]}): this run is not logged to W&B. Training goes on.')

    def _disable(self):
        self.run = None

    def _call(self, what, function):
        if self.run is None:
            return
        try:
            function()
        except Exception as error:
            _warn(f'--log-to wandb: {what} failed ({type(error).__name__}: {str(error)[:200]}). Training goes on.')

    def add_config(self, config, **kwargs):
        self._env()
        self._call('the config', lambda: self.run.config.update(_config_values(config), allow_val_change=True))
        experiment = config.get('experiment')
        if experiment and self.run is not None:
            self._call('the tags', lambda: setattr(self.run, 'tags', tuple(set(self.run.tags or ()) | {experiment})))

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        self._env()
        self._call('logging', lambda: self.run.log(dict(scalar_dict), step=step))

    def add_scalar(self, name, value, step=0, **kwargs):
        self.add_scalars({name: value}, step)

    def add_image(self, name, image, step=0, **kwargs):
        self._env()
        import wandb
        self._call('an image', lambda: self.run.log({name: wandb.Image(image)}, step=step))

    def add_per_class(self, record, step):
        """The per-class IoU and accuracy of a validation as a W&B table (visualization.ValidationReport)."""
        self._env()
        import wandb
        rows = [[name, record['IoU'][name], record['Acc'][name]] for name in record['IoU']]
        self._call('the per-class table', lambda: self.run.log(
            {'val_per_class': wandb.Table(columns=['class', 'IoU', 'Acc'], data=rows)}, step=step))

    def finish_run(self, finished, best_checkpoint=None, report=None):
        if self.run is None:
            return
        if report and os.path.isfile(report):
            self._call('the report', lambda: self.run.save(report, base_path=os.path.dirname(report), policy='now'))
        self._call('the end', lambda: self.run.summary.update({'finished': bool(finished)}))

    def close(self):
        if self.run is not None:
            self._call('finishing', lambda: self.run.finish())  # (not wandb.join(), which wandb has removed)
            self.run = None


# ---- MLflow ------------------------------------------------------------------------------------------------------
class _Sender(threading.Thread):
    """Runs MLflow calls in order, off the training thread; a failed call is retried (backing off to a minute) until
    it succeeds or the run ends."""

    def __init__(self, where):
        super().__init__(daemon=True, name='mlflow-sender')
        self.where, self.calls, self.failing = where, queue.Queue(), False
        self.closing = threading.Event()

    def put(self, what, call):
        self.calls.put((what, call))

    def run(self):
        while True:
            what, call = self.calls.get()
            if call is None:
                return
            wait = 1.0
            while True:
                try:
                    call()
                    break
                except Exception as error:
                    if not self.failing:
                        self.failing = True
                        _warn(f'--log-to mlflow: {self.where} did not take {what} ({type(error).__name__}: '
                              f'{str(error).splitlines()[0][:200] if str(error) else ""}). Training goes on; what '
                              f'is logged is kept and sent when it answers again.')
                    if self.closing.is_set():  # at the end: keep trying until the wait for the rest is over
                        time.sleep(1.0)
                    else:
                        self.closing.wait(wait)
                        wait = min(wait * 2, 60.0)
            if self.failing:
                self.failing = False
                _warn(f'--log-to mlflow: {self.where} answers again; sending what was kept.')

    def finish(self, seconds):
        """Waits up to `seconds` for the calls still queued; returns how many were left unsent."""
        self.closing.set()
        self.put('the end', None)
        self.join(seconds)
        return self.calls.qsize() if self.is_alive() else 0


@VISBACKENDS.register_module()
class MLflowTracker(Tracker):
    name = 'mlflow'

    def __init__(self, save_dir, **kwargs):
        super().__init__(save_dir)
        self.client = self.run_id = self.sender = None
        self.closed = False
        self.sent_before = None  # the last step the server acknowledged to an earlier process of this run
        self.last_sent = None

    def _new_step(self, step):
        """Whether `step` is still to be sent: the server has no step of it from an earlier process of the run (MLflow
        would keep both values of a step trained again after a kill -9)."""
        return self.sent_before is None or step > self.sent_before

    def _put(self, what, call):
        if self.sender is not None:  # (None: MLflow did not start, and the run goes on without it)
            self.sender.put(what, call)

    def _sent(self, step):
        if self.last_sent is None or step > self.last_sent:
            self.last_sent = step
            _write_state(self.work_dir, 'mlflow', last_step=step)

    def _start(self):
        self.sent_before = read_state(self.work_dir).get('mlflow', {}).get('last_step')
        # the client's own retries would block a call for minutes: the sender retries instead
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_MAX_RETRIES', '0')
        os.environ.setdefault('MLFLOW_HTTP_REQUEST_TIMEOUT', '10')
        from mlflow.tracking import MlflowClient
        self.uri = os.environ.get('MLFLOW_TRACKING_URI') or f'sqlite:///{os.path.join(self.work_dir, "mlflow.db")}'
        self.client = MlflowClient(tracking_uri=self.uri)
        self.sender = _Sender(f'the MLflow tracking server at {self.uri}')
        self.sender.start()
        self.sender.put('the run', self._open_run)
        atexit.register(self._at_exit)

    def _open_run(self):
        """The run of this work dir on this server: the one recorded in trackers.json, else a new one."""
        state = read_state(self.work_dir).get('mlflow', {})
        if state.get('run_id') and state.get('uri') == self.uri:
            from mlflow.exceptions import MlflowException
            try:
                self.client.get_run(state['run_id'])
                self.run_id = state['run_id']
                self.client.update_run(self.run_id, status='RUNNING')
                return
            except MlflowException as error:
                if 'RESOURCE_DOES_NOT_EXIST' not in str(getattr(error, 'error_code', '')):
                    raise
        name = os.environ.get('MLFLOW_EXPERIMENT_NAME', PROJECT)
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            artifacts = None if os.environ.get('MLFLOW_TRACKING_URI') else \
                f'file://{os.path.join(self.work_dir, "mlflow_artifacts")}'
            experiment_id = self.client.create_experiment(name, artifact_location=artifacts)
        else:
            experiment_id = experiment.experiment_id
        run = self.client.create_run(experiment_id, run_name=os.path.basename(self.work_dir))
        self.run_id = run.info.run_id
        _write_state(self.work_dir, 'mlflow', run_id=self.run_id, uri=self.uri, experiment=name)

    def add_config(self, config, **kwargs):
        self._env()
        params = training_params(config)
        experiment = config.get('experiment')

        def log_params():
            from mlflow.entities import Param, RunTag
            logged = self.client.get_run(self.run_id).data.params  # a continued run: only keys it has not logged
            new = [Param(key, value) for key, value in params.items() if key not in logged]
            for start in range(0, len(new), 100):
                self.client.log_batch(self.run_id, params=new[start:start + 100])
            if experiment:
                self.client.log_batch(self.run_id, tags=[RunTag('model', experiment)])
        self._put('the config', log_params)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        self._env()
        if not self._new_step(step):
            return
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        metrics = [Metric(key, float(value), now, step) for key, value in scalar_dict.items()
                   if isinstance(value, (int, float))]
        def send():
            self.client.log_batch(self.run_id, metrics=metrics)
            self._sent(step)  # (once the server has them: a killed run's unsent steps are sent by its rerun)
        if metrics:
            self._put(f'the metrics of step {step}', send)

    def add_scalar(self, name, value, step=0, **kwargs):
        self.add_scalars({name: value}, step)

    def add_per_class(self, record, step):
        self._env()
        self._put('the per-class figures', lambda: self.client.log_dict(
            self.run_id, record, f'validation/per_class_iter_{step}.json'))

    def finish_run(self, finished, best_checkpoint=None, report=None):
        self._env()
        for path, folder in ((best_checkpoint, 'checkpoints'), (report, None)):
            if path and os.path.isfile(path):
                self._put(f'{os.path.basename(path)}',
                                lambda path=path, folder=folder: self.client.log_artifact(self.run_id, path, folder))
        self._put('the run\'s end', lambda: self.client.set_terminated(
            self.run_id, status='FINISHED' if finished else 'KILLED'))

    def close(self):
        if self.sender is None or self.closed:
            return
        self.closed = True
        seconds = float(os.environ.get('MLFLOW_CLOSE_WAIT', 60))
        left = self.sender.finish(seconds)
        if left:
            _warn(f'--log-to mlflow: {left} update(s) were not sent to {self.uri} within {seconds:.0f} s; the run\'s '
                  f'own logs (scalars.json, TensorBoard) hold everything.')

    def _at_exit(self):  # a run that ended with an error: its run is marked failed, within a bounded wait
        if not self.closed and self.sender is not None and self.run_id:
            self.sender.put('the failure', lambda: self.client.set_terminated(self.run_id, status='FAILED'))
            self.close()

