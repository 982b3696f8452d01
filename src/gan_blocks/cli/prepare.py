"""`gan-blocks prepare`: a folder or .zip of images to a prepared dataset (`prepare_images`)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

NAMED = 20  # skipped files and duplicates printed by name; dataset.json lists all


def add_parser(commands: Any) -> None:
    """Adds `prepare` to the `gan-blocks` sub-commands."""
    parser = commands.add_parser(
        "prepare",
        help="turn a folder or .zip of images into a training-ready dataset",
        description=(
            "Decode, crop and resize every image of SRC (a folder, recursively, or a .zip of "
            "PNG/JPEG/WebP/BMP/GIF/TIFF) to RESOLUTION x RESOLUTION uint8 and write DST/"
            "dataset.json with .npy shards, which gb.data.load_prepared reads. Corrupt and "
            "non-image files are skipped and named. Rerunning after an interruption keeps the "
            "finished shards."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("source", metavar="SRC", help="image folder or .zip")
    parser.add_argument("destination", metavar="DST", help="output folder (new or empty)")
    parser.add_argument("--resolution", type=int, required=True, help="side of the images")
    parser.add_argument(
        "--labels",
        default=None,
        help="'folders' (first-level folder names are the classes) or a JSON file mapping "
        "relative paths to class names or ids; default: no labels",
    )
    parser.add_argument(
        "--crop",
        choices=("center", "none"),
        default="center",
        help="'center': centred square then resize; 'none': resize the whole image (stretch)",
    )
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3, help="1 or 3")
    parser.add_argument(
        "--workers", type=int, default=None, help="decoding processes (default: all CPUs)"
    )
    parser.add_argument(
        "--shard-size", type=int, default=None, help="images per shard (default: <= 2048)"
    )
    parser.add_argument(
        "--deduplicate", action="store_true", help="drop files that repeat an earlier one"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a dataset of other settings in DST"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def _named(items: list[str]) -> list[str]:
    more = len(items) - NAMED
    return items[:NAMED] + ([f"... and {more} more"] if more > 0 else [])


def run(args: argparse.Namespace) -> int:
    """`gan-blocks prepare`: prepares the dataset and prints a summary."""
    import gan_blocks as gb

    # The summary below names the skipped files; the library's log line would repeat it.
    report_logger = logging.getLogger("gan_blocks.data.prepared_images")
    level = report_logger.level
    report_logger.setLevel(logging.ERROR)
    try:
        summary = gb.data.prepare_images(
            args.source,
            args.destination,
            args.resolution,
            labels=args.labels,
            channels=args.channels,
            crop=args.crop,
            shard_size=args.shard_size,
            workers=args.workers,
            deduplicate=args.deduplicate,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    finally:
        report_logger.setLevel(level)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    size = summary["resolution"]
    print(
        f"{summary['count']} images of {size}x{size}x{summary['channels']} in "
        f"{len(summary['shards'])} shards written to {args.destination} "
        f"({summary['seconds']:.1f} s; {summary['reused_shards']} shards kept from an "
        "earlier run)"
    )
    print(f"source: {summary['source']['files']} files in {summary['source']['path']}")
    if summary["label_names"] is not None:
        names = summary["label_names"]
        print(f"labels: {len(names)} classes: {', '.join(_named(names))}")
    skipped = [f"{s['path']}: {s['reason']}" for s in summary["skipped"]]
    print(f"skipped: {len(skipped)} files")
    for line in _named(skipped):
        print(f"  {line}")
    duplicates = [f"{d['path']} = {d['same_as']}" for d in summary["duplicate_files"]]
    kept = "dropped" if summary["settings"]["deduplicate"] else "kept"
    print(f"duplicates: {len(duplicates)} ({kept})")
    for line in _named(duplicates):
        print(f"  {line}")
    if summary["upscaled"]:
        print(f"upscaled: {summary['upscaled']} images were smaller than {size} px")
    return 0
