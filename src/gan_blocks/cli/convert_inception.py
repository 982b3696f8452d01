"""`gan-blocks convert-inception`: pytorch-fid's `.pth` weights to an `.npz` any backend reads."""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np


def add_parser(commands: Any) -> None:
    """Adds `convert-inception` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "convert-inception",
        help="convert pytorch-fid's Inception weights (.pth) to .npz",
        description=(
            "Convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth (needs torch) into an "
            ".npz of the same parameters, which gb.metrics.fid_inception_v3(weights=...) reads "
            "on any backend without torch. The conversion is checked by loading it into the "
            "Keras network."
        ),
    )
    parser.add_argument("source", help="pytorch-fid's .pth file")
    parser.add_argument("destination", help="the .npz to write")
    parser.set_defaults(run=run)


def convert(source: str, destination: str) -> dict[str, np.ndarray]:
    """Reads the state dict, checks it against the network, writes it as `.npz`."""
    from gan_blocks.metrics import fid_inception

    if not destination.endswith(".npz"):
        raise ValueError(f"The destination must end in .npz. Received {destination!r}.")
    if not os.path.isfile(source):
        raise FileNotFoundError(f"No such file: {source!r}.")
    state = fid_inception.read_torch_state_dict(source)
    fid_inception.fid_inception_v3(weights=state)  # raises on a foreign state dict
    np.savez(destination, **state)
    return state


def run(args: argparse.Namespace) -> int:
    """`gan-blocks convert-inception SOURCE DESTINATION`."""
    from gan_blocks.metrics import fid_inception

    state = convert(args.source, args.destination)
    digest = fid_inception._sha256(args.source)
    known = digest.startswith(fid_inception.FID_WEIGHTS_SHA256_PREFIX)
    print(
        f"wrote {len(state)} arrays to {args.destination}; source SHA-256 {digest[:16]}... "
        + ("(pytorch-fid's weights)" if known else "(NOT pytorch-fid's published file)")
    )
    return 0
