"""The files of an image source, a folder (recursive) or a .zip archive, by relative path."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zipfile

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
IGNORED_FOLDERS = ("__MACOSX",)  # macOS metadata inside zips

# One open ZipFile per (process, archive): a ZipFile inherited through fork
# would share its file offset with the parent.
_OPEN_ARCHIVES: dict[tuple[int, str], zipfile.ZipFile] = {}


def _is_hidden(relative: str) -> bool:
    parts = relative.split("/")
    return any(part.startswith(".") or part in IGNORED_FOLDERS for part in parts)


def is_image_path(relative: str) -> bool:
    """Whether a path has an image extension (`IMAGE_EXTENSIONS`, any case).

    Example:
    >>> from gan_blocks.data.source_files import is_image_path
    >>> is_image_path("cats/a.JPG"), is_image_path("notes.txt")
    (True, False)
    """
    return relative.lower().endswith(IMAGE_EXTENSIONS)


@dataclasses.dataclass(frozen=True)
class SourceReader:
    """Reads files of a source by relative path; small and picklable, for worker processes.

    Args:
        kind: `"folder"` or `"zip"`.
        path: Absolute path of the folder or archive.
        prefix: Archive folder that holds everything (`"name/"`), stripped
            from the relative paths; `""` for none.

    Example:
    >>> import os
    >>> import tempfile
    >>> from gan_blocks.data.source_files import SourceReader
    >>> with tempfile.TemporaryDirectory() as root:
    ...     with open(os.path.join(root, "a.txt"), "wb") as file:
    ...         _ = file.write(b"abc")
    ...     SourceReader("folder", root).read("a.txt")
    b'abc'
    """

    kind: str
    path: str
    prefix: str = ""

    def _archive(self) -> zipfile.ZipFile:
        key = (os.getpid(), self.path)
        if key not in _OPEN_ARCHIVES:
            _OPEN_ARCHIVES[key] = zipfile.ZipFile(self.path)
        return _OPEN_ARCHIVES[key]

    def read(self, relative: str) -> bytes:
        """The bytes of the file at `relative` (a POSIX path below the source)."""
        if self.kind == "zip":
            return self._archive().read(self.prefix + relative)
        with open(os.path.join(self.path, *relative.split("/")), "rb") as file:
            return file.read()

    def fingerprint(self, relative: str) -> tuple[int, str]:
        """`(size in bytes, sha256 hex digest)` of one file's content."""
        data = self.read(relative)
        return len(data), hashlib.sha256(data).hexdigest()


def _folder_files(root: str) -> list[str]:
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in IGNORED_FOLDERS]
        relative_folder = os.path.relpath(folder, root).replace(os.sep, "/")
        for name in names:
            if not name.startswith("."):
                files.append(name if relative_folder == "." else f"{relative_folder}/{name}")
    return sorted(files)


def _archive_files(path: str) -> tuple[list[str], str]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(
            f"Cannot read the zip archive {path!r} ({type(error).__name__}: {error}). "
            "Expected a valid .zip of images, or a folder."
        ) from error
    names = sorted({name for name in names if not _is_hidden(name)})
    tops = {name.split("/", 1)[0] for name in names}
    prefix = ""
    if len(tops) == 1 and all("/" in name for name in names):
        prefix = tops.pop() + "/"  # e.g. faces.zip holding faces/...: paths as in the folder
    return [name[len(prefix) :] for name in names], prefix


def list_source(source: str | os.PathLike) -> tuple[SourceReader, list[str]]:
    """Lists the files of a folder (recursive) or a .zip archive, sorted.

    Hidden files and folders (names starting with ".") and `__MACOSX/` are
    left out. In an archive whose files all lie in one top-level folder that
    folder is stripped, so `faces.zip` made with `zip -r faces.zip faces/`
    gives the same relative paths as the folder `faces/`.

    Args:
        source: A folder or a `.zip` file.

    Returns:
        `(reader, relative_paths)`: a `SourceReader` and the sorted POSIX paths.

    Raises:
        FileNotFoundError: Nothing exists at `source`.
        ValueError: `source` is a file that is not a readable zip archive.

    Example:
    >>> import os
    >>> import tempfile
    >>> from gan_blocks.data.source_files import list_source
    >>> with tempfile.TemporaryDirectory() as root:
    ...     os.makedirs(os.path.join(root, "cats"))
    ...     for name in ("cats/b.png", "a.png", ".DS_Store"):
    ...         open(os.path.join(root, name), "wb").close()
    ...     reader, paths = list_source(root)
    >>> reader.kind, paths
    ('folder', ['a.png', 'cats/b.png'])
    """
    path = os.path.abspath(os.fspath(source))
    if os.path.isdir(path):
        return SourceReader("folder", path), _folder_files(path)
    if os.path.isfile(path):
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"The source {os.fspath(source)!r} is a file but not a zip archive. "
                "Expected a folder of images or a .zip of images."
            )
        files, prefix = _archive_files(path)
        return SourceReader("zip", path, prefix), files
    raise FileNotFoundError(
        f"No folder or .zip archive at {os.fspath(source)!r} (the image source)."
    )


def close_archives() -> None:
    """Closes the zip archives this process opened through `SourceReader.read`."""
    for key in [key for key in _OPEN_ARCHIVES if key[0] == os.getpid()]:
        _OPEN_ARCHIVES.pop(key).close()
