#!/usr/bin/env python3
"""Load an ordergrad run directory with the real TensorBoard and list what it found.

Checks that the hand-written event files are readable by TensorBoard itself (record framing,
CRCs, Event/Summary encoding, text plugin metadata). Needs only the `tensorboard` package:

    python3 -m venv /tmp/tbvenv && /tmp/tbvenv/bin/pip install tensorboard
    ORDERGRAD_TENSORBOARD_SAMPLE_DIR=/tmp/tb-sample \
        cargo test --release -p agents --test logging -- --ignored write_sample_run_for_real_tensorboard
    /tmp/tbvenv/bin/python agents/scripts/check_tensorboard.py /tmp/tb-sample

Exits 1 when no scalar or text tag is found.
"""

import argparse
import sys

import tensorboard
from tensorboard.backend.event_processing.event_accumulator import (
    SCALARS,
    TENSORS,
    EventAccumulator,
)
from tensorboard.util import tensor_util


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event_dir", help="directory holding events.out.tfevents.* files")
    args = parser.parse_args()

    # 0 means "keep everything" instead of TensorBoard's default reservoir sampling.
    accumulator = EventAccumulator(args.event_dir, size_guidance={SCALARS: 0, TENSORS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()

    print(f"tensorboard {tensorboard.__version__}, file_version {accumulator.file_version!r}")
    print("scalars:")
    for tag in sorted(tags["scalars"]):
        events = accumulator.Scalars(tag)
        last = events[-1]
        print(f"  {tag}: {len(events)} points, last step {last.step} value {last.value:g}")

    text_tags = [
        tag
        for tag in sorted(tags["tensors"])
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name == "text"
    ]
    print("text:")
    for tag in text_tags:
        events = accumulator.Tensors(tag)
        text = tensor_util.make_ndarray(events[-1].tensor_proto).item().decode("utf-8")
        print(f"  {tag}: {len(events)} event(s), last at step {events[-1].step}:")
        for line in text.splitlines():
            print(f"    {line}")

    if not tags["scalars"] and not text_tags:
        print(f"no scalar or text tags found in {args.event_dir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
