"""`prepare_images`: a folder or .zip of images to square uint8 .npy shards, resumably."""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from gan_blocks.data import source_files
from gan_blocks.data.source_files import IMAGE_EXTENSIONS, SourceReader, is_image_path
from gan_blocks.data.square_images import CHANNELS, CROPS, FILTER, decode_square_image

FORMAT = "gan-blocks-prepared"
VERSION = 1
MANIFEST = "dataset.json"
PROGRESS = "prepare-progress.json"  # the finished shards of an unfinished run
PARTIAL = ".partial"  # suffix of a file being written; renamed when complete
SHARD_BYTES = 256 * 2**20  # default shards stay below this...
MAX_SHARD_SIZE = 2048  # ...and below this many images
CHUNK_SIZE = 32  # images per worker task
MAX_NAMED = 20  # files named in a log line; dataset.json lists all
OWN_FILE = re.compile(r"(images|labels)-\d{5}\.npy")

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------- validation


def _check_arguments(resolution: Any, channels: Any, crop: Any, shard_size: Any, workers: Any):
    def is_int(value: Any) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not is_int(resolution) or resolution < 4:
        raise ValueError(
            "`resolution` must be an int >= 4 (the side of the square images; most "
            f"architectures want a power of two such as 64). Received: resolution={resolution!r}"
        )
    if not is_int(channels) or channels not in CHANNELS:
        raise ValueError(
            f"`channels` must be 1 (grayscale) or 3 (RGB). Received: channels={channels!r}"
        )
    if crop not in CROPS:
        raise ValueError(
            '`crop` must be "center" (centred square, then resize) or "none" (resize the '
            f"whole image, stretching it). Received: crop={crop!r}"
        )
    if shard_size is not None and (not is_int(shard_size) or shard_size < 1):
        raise ValueError(
            f"`shard_size` must be None or an int >= 1. Received: shard_size={shard_size!r}"
        )
    if workers is not None and (not is_int(workers) or workers < 1):
        raise ValueError(f"`workers` must be None or an int >= 1. Received: workers={workers!r}")


def _normalized_path(path: str) -> str:
    path = path.replace("\\", "/")
    return path[2:] if path.startswith("./") else path


def _label_mapping(labels: Any) -> dict[str, int | str]:
    """Reads a labels JSON file (or takes a dict): relative path -> class name or id."""
    origin = "the labels mapping"
    if not isinstance(labels, Mapping):
        origin = os.fspath(labels)
        if not os.path.isfile(origin):
            raise FileNotFoundError(
                f"labels={origin!r}: no such file. Expected None, 'folders', a JSON file "
                "mapping relative paths to class names or ids, or such a dict."
            )
        try:
            with open(origin, encoding="utf-8") as file:
                labels = json.load(file)
        except ValueError as error:
            raise ValueError(f"The labels file {origin!r} is not valid JSON: {error}") from error
        if isinstance(labels, dict) and "labels" in labels:  # StyleGAN's dataset.json
            pairs = labels["labels"]
            if not isinstance(pairs, list) or not all(
                isinstance(pair, list) and len(pair) == 2 for pair in pairs
            ):
                raise ValueError(
                    f'{origin!r}: "labels" must be a list of [path, class] pairs (StyleGAN\'s '
                    f"dataset.json). Received: {str(pairs)[:80]}"
                )
            labels = dict(pairs)
        if not isinstance(labels, dict):
            raise ValueError(
                f'{origin!r} must hold a JSON object {{"relative/path.png": class, ...}} or '
                f'{{"labels": [[path, class], ...]}}. Received a {type(labels).__name__}.'
            )
    mapping = {}
    for path, label in labels.items():
        valid_id = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
        if not isinstance(path, str) or not (
            isinstance(label, str) and label or valid_id and label >= 0
        ):
            raise ValueError(
                f"{origin}: each entry must map a relative path to a class name (non-empty "
                f"string) or a class id (int >= 0). Received: {path!r}: {label!r}"
            )
        mapping[_normalized_path(path)] = label if isinstance(label, str) else int(label)
    if not mapping:
        raise ValueError(f"{origin} maps no file to a class.")
    if len({isinstance(label, str) for label in mapping.values()}) > 1:
        raise ValueError(f"{origin} mixes class names and class ids; use one kind.")
    return mapping


def _label_spec(labels: Any) -> tuple[str | None, dict[str, int | str] | None]:
    if labels is None:
        return None, None
    if isinstance(labels, str) and labels == "folders":
        return "folders", None
    if isinstance(labels, (str, os.PathLike, Mapping)):
        return "mapping", _label_mapping(labels)
    raise TypeError(
        "`labels` must be None, 'folders', a path to a JSON file or a dict mapping relative "
        f"paths to classes. Received: labels={labels!r} of type {type(labels).__name__}"
    )


# ---------------------------------------------------------------- the plan


def _plan(
    paths: list[str], mode: str | None, mapping: dict | None
) -> tuple[list[tuple[str, Any]], list[dict], list[str] | None]:
    """(path, class) of every file to decode, the files skipped unread, the class names."""
    chosen, skipped = [], []
    for path in paths:
        if not is_image_path(path):
            extension = os.path.splitext(path)[1] or "none"
            skipped.append({"path": path, "reason": f"not an image file (extension {extension!r})"})
        elif mode == "folders" and "/" not in path:
            reason = "in the source root, not in a class folder (labels='folders')"
            skipped.append({"path": path, "reason": reason})
        elif mode == "folders":
            chosen.append((path, path.split("/", 1)[0]))
        elif mode == "mapping" and path not in mapping:
            skipped.append({"path": path, "reason": "no entry in the labels mapping"})
        else:
            chosen.append((path, mapping[path] if mode == "mapping" else None))
    if mode is None:
        return chosen, skipped, None
    if mode == "mapping":
        unmatched = sorted(set(mapping) - set(paths))
        if len(unmatched) == len(mapping):
            raise ValueError(
                f"No path of the labels mapping names a file of the source: mapping paths "
                f"{unmatched[:3]}, source files {paths[:3]}. Paths are relative to the source "
                "folder (or to the zip's top-level folder), with '/' separators."
            )
        if unmatched:
            warnings.warn(
                f"{len(unmatched)} paths of the labels mapping name no file of the source: "
                f"{unmatched[:5]}{' ...' if len(unmatched) > 5 else ''}",
                UserWarning,
                stacklevel=3,
            )
        values = set(mapping.values())
    else:
        values = {label for _, label in chosen}
    if values and isinstance(next(iter(values)), int):
        names = [str(index) for index in range(max(values) + 1)]
        return chosen, skipped, names
    names = sorted(values)
    ids = {name: index for index, name in enumerate(names)}
    return [(path, ids[label]) for path, label in chosen], skipped, names


@contextlib.contextmanager
def _closing_archives() -> Iterator[None]:
    try:
        yield
    finally:
        source_files.close_archives()


def _fingerprints(
    reader: SourceReader, paths: list[str], workers: int, progress: bool
) -> list[tuple[int, str]]:
    """(size, sha256) of every file; threads suffice: hashlib and zlib release the GIL."""
    with _progress_bar(progress, len(paths), "hashing") as bar, _closing_archives():
        if workers == 1:
            results = []
            for path in paths:
                results.append(reader.fingerprint(path))
                bar.update(1)
            return results
        with concurrent.futures.ThreadPoolExecutor(workers) as executor:
            results = []
            for result in executor.map(reader.fingerprint, paths):
                results.append(result)
                bar.update(1)
            return results


def _source_sha256(paths: list[str], fingerprints: list[tuple[int, str]]) -> str:
    listing = "\n".join(f"{p}\t{size}\t{digest}" for p, (size, digest) in zip(paths, fingerprints))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _split_duplicates(
    chosen: list[tuple[str, Any]], digests: dict[str, str], deduplicate: bool, skipped: list
) -> tuple[list[tuple[str, Any]], list[dict]]:
    """(files to decode, copies of earlier files); with `deduplicate` the copies are skipped."""
    first_with, duplicate_files, kept = {}, [], []
    for path, label in chosen:
        original = first_with.setdefault(digests[path], path)
        if original != path:
            duplicate_files.append({"path": path, "same_as": original})
            if deduplicate:
                skipped.append({"path": path, "reason": f"duplicate of {original}"})
                continue
        kept.append((path, label))
    return kept, duplicate_files


# ---------------------------------------------------------------- the destination


def _save_atomically(path: str, write: Any) -> None:
    """Writes through `write(file)` to a partial file, then renames it into place."""
    partial = path + PARTIAL
    with open(partial, "wb") as file:
        write(file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def _save_json(path: str, data: dict) -> None:
    _save_atomically(path, lambda file: file.write(json.dumps(data, indent=1).encode("utf-8")))


def _write_shard(destination: str, index: int, images: np.ndarray, labels: Any) -> dict:
    """Saves one shard's arrays; returns its dataset.json entry."""
    entry = {"images": f"images-{index:05d}.npy", "labels": None, "count": len(images)}
    if len(images):
        _save_atomically(os.path.join(destination, entry["images"]), lambda f: np.save(f, images))
        if labels is not None:
            entry["labels"] = f"labels-{index:05d}.npy"
            array = np.asarray(labels, dtype=np.int64)
            _save_atomically(
                os.path.join(destination, entry["labels"]), lambda f: np.save(f, array)
            )
    return entry


def _shard_is_intact(destination: str, entry: dict, shape: tuple[int, ...]) -> bool:
    if entry["count"] == 0:
        return True
    try:
        images = np.load(os.path.join(destination, entry["images"]), mmap_mode="r")
        if images.shape != (entry["count"], *shape) or images.dtype != np.uint8:
            return False
        if entry["labels"] is not None:
            labels = np.load(os.path.join(destination, entry["labels"]), mmap_mode="r")
            return labels.shape == (entry["count"],)
        return True
    except (OSError, ValueError):
        return False


def _differences(found: dict, wanted: dict) -> str:
    keys = sorted(set(found) | set(wanted))
    return "; ".join(
        f"{key}: {found.get(key)!r} there, {wanted.get(key)!r} now"
        for key in keys
        if found.get(key) != wanted.get(key)
    )


def _open_destination(
    destination: str, identity: dict, overwrite: bool
) -> tuple[dict | None, dict]:
    """Checks DST; returns (its finished dataset.json or None, finished shards of a partial run)."""
    if os.path.exists(destination) and not os.path.isdir(destination):
        raise ValueError(f"The destination {destination!r} is a file; expected a folder.")
    os.makedirs(destination, exist_ok=True)
    entries = os.listdir(destination)
    foreign = [
        e
        for e in entries
        if e not in (MANIFEST, PROGRESS) and not OWN_FILE.fullmatch(e) and not e.endswith(PARTIAL)
    ]
    if foreign:
        raise ValueError(
            f"The destination {destination!r} holds files that are not part of a prepared "
            f"dataset: {sorted(foreign)[:5]}. Choose a new or empty folder."
        )
    for entry in entries:
        if entry.endswith(PARTIAL):  # left by an interrupted write
            os.remove(os.path.join(destination, entry))
    for name, key in ((MANIFEST, None), (PROGRESS, "finished")):
        path = os.path.join(destination, name)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as file:
                found = json.load(file)
            found_identity = {**found["settings"], "source": found["source"]["sha256"]}
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"{path!r} is not the {name} of a gan-blocks prepared dataset "
                f"({type(error).__name__}: {error}). Choose a new or empty destination."
            ) from error
        if found.get("format") == FORMAT and found_identity == identity:
            return (found, {}) if key is None else (None, found[key])
        if not overwrite:
            what = "made" if key is None else "partly made"
            raise ValueError(
                f"{destination!r} holds a dataset {what} from other settings or source files "
                f"({_differences(found_identity, identity)}). Pass overwrite=True "
                "(--overwrite) to replace it, or choose another destination."
            )
        break
    for entry in entries:  # a fresh start: nothing old may mix in
        if not entry.endswith(PARTIAL):
            os.remove(os.path.join(destination, entry))
    return None, {}


# ---------------------------------------------------------------- decoding


def _failure(error: Exception) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(error, UnidentifiedImageError):
        return "not a readable image (Pillow cannot identify its format)"
    return f"corrupt or unreadable ({type(error).__name__}: {error})"


def _decode_chunk(
    reader: SourceReader, paths: list[str], resolution: int, channels: int, crop: str
) -> list[tuple[np.ndarray | None, str | None, bool]]:
    """(array, None, upscaled) per decoded file, (None, reason, False) per failed one."""
    results = []
    for path in paths:
        try:
            array, upscaled = decode_square_image(reader.read(path), resolution, channels, crop)
            results.append((array, None, upscaled))
        except Exception as error:  # noqa: BLE001 - one bad file is reported by name, not fatal
            results.append((None, _failure(error), False))
    return results


def _decoded_chunks(
    reader: SourceReader, chunks: list[list[str]], options: tuple, workers: int
) -> Iterator[list]:
    """`_decode_chunk` of each chunk, in order; at most 4 chunks per worker in flight."""
    if workers == 1:
        with _closing_archives():
            for chunk in chunks:
                yield _decode_chunk(reader, chunk, *options)
        return
    # fork on Linux: workers start at once, without importing Keras and a backend again
    # (spawn and forkserver would, per call). The workers only run Pillow and numpy and
    # leave through os._exit, so the framework's threads that fork does not copy are never
    # waited for: JAX's generic warning about forking a multithreaded process is muted.
    context = multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
    executor = concurrent.futures.ProcessPoolExecutor(workers, mp_context=context)
    try:
        queue = collections.deque()
        remaining = iter(chunks)
        with warnings.catch_warnings():  # the workers start at the first submit
            warnings.filterwarnings("ignore", "os.fork", RuntimeWarning)
            for chunk in remaining:
                queue.append(executor.submit(_decode_chunk, reader, chunk, *options))
                if len(queue) >= 4 * workers:
                    break
        while queue:
            result = queue.popleft().result()
            chunk = next(remaining, None)
            if chunk is not None:
                queue.append(executor.submit(_decode_chunk, reader, chunk, *options))
            yield result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


class _NoBar:
    def update(self, count: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _progress_bar(enabled: bool, total: int, description: str) -> Any:
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=description, unit="file", leave=False)


def _log_report(destination: str, skipped: list[dict], duplicates: list[dict], files: int):
    if skipped:
        named = "; ".join(f"{s['path']} ({s['reason']})" for s in skipped[:MAX_NAMED])
        more = f"; and {len(skipped) - MAX_NAMED} more" if len(skipped) > MAX_NAMED else ""
        logger.warning(
            "prepare_images skipped %d of %d files: %s%s (all listed under 'skipped' in %s).",
            len(skipped), files, named, more, os.path.join(destination, MANIFEST),
        )  # fmt: skip
    if duplicates:
        named = "; ".join(f"{d['path']} = {d['same_as']}" for d in duplicates[:MAX_NAMED])
        logger.warning(
            "%d file(s) are exact copies of earlier ones: %s%s.",
            len(duplicates), named, " ..." if len(duplicates) > MAX_NAMED else "",
        )  # fmt: skip


def _write_shards(
    reader: SourceReader,
    kept: list[tuple[str, Any]],
    ranges: list[tuple[int, int, int]],
    pending: list[tuple[int, int, int]],
    destination: str,
    settings: dict,
    workers: int,
    progress: bool,
    record: dict,
) -> None:
    """Decodes the `pending` shards' files in order; saves each shard, then the progress record."""
    resolution, channels, crop = settings["resolution"], settings["channels"], settings["crop"]
    shape, labelled = (resolution, resolution, channels), settings["labels"] is not None
    chunks, owners = [], []
    for index, begin, end in pending:
        for chunk_begin in range(begin, end, CHUNK_SIZE):
            chunks.append(
                [path for path, _ in kept[chunk_begin : min(chunk_begin + CHUNK_SIZE, end)]]
            )
            owners.append(index)
    results = _decoded_chunks(reader, chunks, (resolution, channels, crop), workers)
    with (
        contextlib.closing(results),
        _progress_bar(progress, sum(map(len, chunks)), "decoding") as bar,
    ):
        decoded: list = []
        for position, chunk_results in enumerate(results):
            decoded += chunk_results
            bar.update(len(chunk_results))
            index = owners[position]
            if position + 1 < len(owners) and owners[position + 1] == index:
                continue
            _, begin, end = ranges[index]
            good = [i for i, (array, _, _) in enumerate(decoded) if array is not None]
            images = np.empty((len(good), *shape), np.uint8)
            for row, i in enumerate(good):
                images[row] = decoded[i][0]
            shard_labels = [kept[begin + i][1] for i in good] if labelled else None
            entry = _write_shard(destination, index, images, shard_labels)
            entry["skipped"] = [
                {"path": kept[begin + i][0], "reason": reason}
                for i, (array, reason, _) in enumerate(decoded)
                if array is None
            ]
            entry["upscaled"] = sum(upscaled for _, _, upscaled in decoded)
            record["finished"][str(index)] = entry
            _save_json(os.path.join(destination, PROGRESS), record)
            decoded = []


# ---------------------------------------------------------------- the entry point


def prepare_images(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    resolution: int,
    labels: str | os.PathLike | Mapping[str, int | str] | None = None,
    channels: int = 3,
    crop: str = "center",
    shard_size: int | None = None,
    workers: int | None = None,
    deduplicate: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Converts a folder or .zip of images into a square uint8 dataset of .npy shards.

    Every file under `source` (a folder, recursively, or a `.zip`; hidden
    files and `__MACOSX/` left out) is decoded with Pillow in `workers`
    processes, in the sorted order of the relative paths:

    - colour: converted to `channels` (1: "L", 3: "RGB"); transparency is
      composited over black, 16-bit grayscale scaled by 255 / 65535, CMYK and
      palettes converted by Pillow; the EXIF orientation is applied; a GIF
      gives its first frame.
    - geometry: `crop="center"` cuts the largest centred square and resizes
      it to `resolution` x `resolution` with `PIL.Image.Resampling.LANCZOS`
      (aspect ratio kept, borders lost); `crop="none"` resizes the whole
      image (nothing lost, non-square images stretched). Smaller images are
      upscaled and counted under `"upscaled"`.
    - bad files: a file without an image extension
      (`.png .jpg .jpeg .webp .bmp .gif .tif .tiff`) or one Pillow cannot
      decode is skipped and named, with the reason, under `"skipped"` and in
      a warning log line; it never stops the run.
    - duplicates: files with the same content are counted under
      `"duplicates"` and named under `"duplicate_files"`; they are kept
      unless `deduplicate=True` (then only the first in path order stays).

    `destination` receives `dataset.json` and `images-XXXXX.npy` shards
    (uint8, `(n, resolution, resolution, channels)`), plus `labels-XXXXX.npy`
    (int64 class ids) with labels; `gb.data.load_prepared` reads them, and
    `np.load(path, mmap_mode="r")` opens a shard without decoding.

    Resumable: each shard is written to a partial file and renamed when
    complete, and the finished shards are recorded in
    `prepare-progress.json`; calling again with the same source files and
    settings after an interruption keeps those shards and makes only the
    rest (no image twice), and on a finished dataset returns at once. A
    destination made from other settings or source files raises, unless
    `overwrite=True`.

    Args:
        source: Folder of images (recursive) or `.zip` archive (a single
            top-level folder in it is stripped from the paths).
        destination: Output folder; created if missing; must be empty or hold
            a prepared dataset.
        resolution: Side of the square output images, >= 4 (architectures
            usually want a power of two).
        labels: `None` (no labels); `"folders"` (the first-level folder under
            `source` is the class; class ids follow the sorted folder names;
            files directly in `source` are skipped and named); or a JSON
            file (or dict) mapping relative paths (with `/`) to class names
            (ids follow the sorted names) or int ids (names are `"0"`,
            `"1"`, ...); StyleGAN's `{"labels": [[path, id], ...]}` also
            works. Images without an entry are skipped and named.
        channels: 1 (grayscale) or 3 (RGB).
        crop: `"center"` or `"none"` (see above).
        shard_size: Images per shard; `None` picks at most 2048 and 256 MiB.
        workers: Decoding processes; `None` uses `os.cpu_count()`; 1 decodes
            in this process.
        deduplicate: Drop files whose content repeats an earlier file's.
        overwrite: Replace a dataset made from other settings in `destination`.
        progress: Show tqdm progress bars (if tqdm is installed).

    Returns:
        The content of `dataset.json`: `format`, `version`, `resolution`,
        `channels`, `count`, `shards`, `label_names`, `crop`, `filter`,
        `source` (`path`, `kind`, `files`, `sha256` over the sorted (path,
        size, content hash) list), `skipped` (`path`, `reason`),
        `duplicates`, `duplicate_files`, `upscaled`, `settings`; plus
        `seconds` and `reused_shards` of this call (not stored).

    Raises:
        FileNotFoundError: `source` or the labels file does not exist.
        ValueError: An invalid argument, a destination holding other files or
            another dataset, or no image that could be decoded.

    Example:
    >>> import os
    >>> import tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> import gan_blocks as gb
    >>> with tempfile.TemporaryDirectory() as root:
    ...     for name, size in (("cats/a.png", (40, 30)), ("dogs/b.jpg", (32, 32))):
    ...         os.makedirs(os.path.join(root, "images", os.path.dirname(name)), exist_ok=True)
    ...         Image.new("RGB", size, (200, 30, 30)).save(os.path.join(root, "images", name))
    ...     open(os.path.join(root, "images", "cats", "notes.txt"), "w").close()
    ...     summary = gb.data.prepare_images(
    ...         os.path.join(root, "images"), os.path.join(root, "prepared"), 16,
    ...         labels="folders", workers=1, progress=False)
    ...     images = np.load(os.path.join(root, "prepared", "images-00000.npy"))
    >>> summary["count"], summary["label_names"], [s["path"] for s in summary["skipped"]]
    (2, ['cats', 'dogs'], ['cats/notes.txt'])
    >>> images.shape, images.dtype.name
    ((2, 16, 16, 3), 'uint8')
    """
    start = time.perf_counter()
    _check_arguments(resolution, channels, crop, shard_size, workers)
    resolution, channels = int(resolution), int(channels)
    mode, mapping = _label_spec(labels)
    reader, paths = source_files.list_source(source)
    destination = os.path.abspath(os.fspath(destination))
    if reader.kind == "folder" and os.path.commonpath([reader.path, destination]) == reader.path:
        raise ValueError(
            f"The destination {destination!r} lies inside the source folder {reader.path!r}; "
            "its shards would become source files. Choose a destination outside it."
        )
    chosen, skipped, label_names = _plan(paths, mode, mapping)
    in_root = [path for path in paths if is_image_path(path) and "/" not in path]
    if not chosen and mode == "folders" and in_root:
        raise ValueError(
            f"labels='folders' takes each image's class from the subfolder it is in "
            f"(SRC/cat/1.png is class 'cat'), but all {len(in_root)} images of "
            f"{os.fspath(source)!r} lie in its root, in no class folder. Move them into one "
            "subfolder per class, or leave out labels (--labels) for unlabelled data."
        )
    if not chosen:
        raise ValueError(
            f"No image file to prepare in {os.fspath(source)!r} ({len(paths)} files; "
            f"image extensions: {' '.join(IMAGE_EXTENSIONS)}). Skipped: {skipped[:5]}"
        )
    workers = int(workers or os.cpu_count() or 1)
    fingerprints = _fingerprints(reader, paths, workers, progress)
    digests = dict(zip(paths, (digest for _, digest in fingerprints)))
    kept, duplicate_files = _split_duplicates(chosen, digests, deduplicate, skipped)
    shape = (resolution, resolution, channels)
    shard_size = int(shard_size or max(1, min(MAX_SHARD_SIZE, SHARD_BYTES // int(np.prod(shape)))))
    mapping_digest = None
    if mapping is not None:
        mapping_digest = hashlib.sha256(json.dumps(sorted(mapping.items())).encode()).hexdigest()
    settings = {
        "resolution": resolution,
        "channels": channels,
        "crop": crop,
        "filter": FILTER,
        "labels": mode if mapping is None else f"mapping sha256:{mapping_digest[:16]}",
        "deduplicate": bool(deduplicate),
        "shard_size": shard_size,
        "transparency": "composited over black",
        "orientation": "exif applied",
    }
    source_sha256 = _source_sha256(paths, fingerprints)
    identity = {**settings, "source": source_sha256}
    finished_manifest, finished = _open_destination(destination, identity, overwrite)
    if finished_manifest is not None:
        _log_report(
            destination,
            finished_manifest["skipped"],
            finished_manifest["duplicate_files"],
            len(paths),
        )
        seconds = round(time.perf_counter() - start, 3)
        reused = len(finished_manifest["shards"])
        return {**finished_manifest, "seconds": seconds, "reused_shards": reused}

    ranges = [
        (i // shard_size, i, min(i + shard_size, len(kept)))
        for i in range(0, len(kept), shard_size)
    ]
    record = {
        "format": FORMAT,
        "settings": settings,
        "source": {"sha256": source_sha256},
        "finished": {
            index: entry
            for index, entry in finished.items()
            if _shard_is_intact(destination, entry, shape)
        },
    }
    reused = len(record["finished"])
    pending = [r for r in ranges if str(r[0]) not in record["finished"]]
    _write_shards(reader, kept, ranges, pending, destination, settings, workers, progress, record)

    shards = [record["finished"][str(index)] for index, _, _ in ranges]
    skipped = sorted(
        skipped + [s for shard in shards for s in shard["skipped"]], key=lambda s: s["path"]
    )
    count = sum(shard["count"] for shard in shards)
    if count == 0:
        raise ValueError(
            f"No image of {os.fspath(source)!r} could be decoded; skipped: {skipped[:5]}"
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "resolution": resolution,
        "channels": channels,
        "count": count,
        "shards": [
            {key: shard[key] for key in ("images", "labels", "count")}
            for shard in shards
            if shard["count"]
        ],
        "label_names": label_names,
        "crop": crop,
        "filter": FILTER,
        "source": {
            "path": reader.path,
            "kind": reader.kind,
            "files": len(paths),
            "sha256": source_sha256,
        },
        "skipped": skipped,
        "duplicates": len(duplicate_files),
        "duplicate_files": duplicate_files,
        "upscaled": sum(shard["upscaled"] for shard in shards),
        "settings": settings,
    }
    _save_json(os.path.join(destination, MANIFEST), manifest)
    os.remove(os.path.join(destination, PROGRESS))
    _log_report(destination, skipped, duplicate_files, len(paths))
    seconds = round(time.perf_counter() - start, 3)
    return {**manifest, "seconds": seconds, "reused_shards": reused}
