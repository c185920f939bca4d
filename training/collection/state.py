"""The state of a collection's jobs, <folder>/jobs.json: submitted, running, done, failed and why (written whole and
renamed into place, so a reader never sees half of it)."""
import datetime
import json
import os


def _state_path(folder):
    return os.path.join(folder, 'jobs.json')


def load_state(folder):
    if not os.path.isfile(_state_path(folder)):
        return {}
    with open(_state_path(folder)) as f:
        return json.load(f)


def _save_state(folder, state):
    os.makedirs(folder, exist_ok=True)
    partial = f'{_state_path(folder)}.partial'
    with open(partial, 'w') as f:
        json.dump(state, f, indent=1, ensure_ascii=False)
    os.replace(partial, _state_path(folder))


def record(folder, model, **fields):
    """Updates the fields of `model`'s entry."""
    state = load_state(folder)
    state[model] = dict(state.get(model, {}), **fields)
    _save_state(folder, state)


def now():
    return datetime.datetime.now().isoformat(timespec='seconds')
