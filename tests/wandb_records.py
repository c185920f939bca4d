"""W&B's offline run files (<dir>/wandb/offline-run-*/run-<id>.wandb) read back: W&B writes them as a LevelDB-style
log of its own protobuf Records (wandb.proto.wandb_internal_pb2), which this reads with wandb's own classes."""
import glob
import json
import os
import struct

HEADER = 7        # ':W&B', a 2-byte magic, a version byte
BLOCK = 32768     # LevelDB log blocks
RECORD_HEADER = 7  # CRC32, length, type (1 full, 2 first, 3 middle, 4 last)


def _chunks(data):
    position = HEADER
    while position + RECORD_HEADER <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < RECORD_HEADER:  # the block's trailer is padding
            position += left_in_block
            continue
        _, length, kind = struct.unpack('<IHB', data[position:position + RECORD_HEADER])
        start = position + RECORD_HEADER
        yield kind, data[start:start + length]
        position = start + length


def records(path):
    """The Records of one .wandb file, in order."""
    from wandb.proto import wandb_internal_pb2
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:4] == b':W&B', f'{path} is not a W&B run file'
    found, pending = [], b''
    for kind, chunk in _chunks(data):
        if kind == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            found.append(record)
    return found


def offline_runs(work_dir):
    """[(run id, [history rows {key: value, '_step': step}])] of a work dir's offline runs, oldest first."""
    runs = []
    for path in sorted(glob.glob(os.path.join(str(work_dir), 'wandb', 'offline-run-*', 'run-*.wandb'))):
        run_id, history = os.path.basename(path)[len('run-'):-len('.wandb')], []
        for record in records(path):
            if record.WhichOneof('record_type') == 'history':
                row = {item.key or '/'.join(item.nested_key): json.loads(item.value_json)
                       for item in record.history.item}
                if record.history.HasField('step'):
                    row['_step'] = record.history.step.num
                history.append(row)
        runs.append((run_id, history))
    return runs
