import gzip

import numpy as np
import pytest

import gan_blocks as gb


def idx_bytes(array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write(path, content):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(content)


IMAGES = np.arange(10 * 28 * 28).reshape(10, 28, 28) % 256


def test_image_and_label_counts_must_match(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(IMAGES))
    write(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.arange(7)))
    # Before: 10 images and 7 labels came back silently.
    with pytest.raises(
        ValueError, match=r"t10k-images-idx3-ubyte' holds 10 images but .*labels-idx1-ubyte.gz"
    ):
        gb.data.load_mnist_idx(str(tmp_path), with_labels=True)
    assert gb.data.load_mnist_idx(str(tmp_path)).shape == (10, 28, 28, 1)  # images alone


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_the_header_is_checked_against_the_file_size(tmp_path, suffix):
    path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    write(path, idx_bytes(IMAGES)[:-5])
    with pytest.raises(ValueError, match=r"images-idx3-ubyte.*7851 bytes.*\(10, 28, 28\).*7856"):
        gb.data.load_mnist_idx(str(tmp_path), prefix="train")
    write(path, idx_bytes(IMAGES) + b"\x00")
    with pytest.raises(ValueError, match=r"7857 bytes but its header declares"):
        gb.data.load_mnist_idx(str(tmp_path), prefix="train")
    write(path, idx_bytes(IMAGES)[:10])
    with pytest.raises(ValueError, match="truncated: 10 bytes, shorter than its header"):
        gb.data.load_mnist_idx(str(tmp_path), prefix="train")


def test_wrong_or_unreadable_files_are_named(tmp_path):
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(np.arange(5)))  # a labels file
    with pytest.raises(ValueError, match=r"images-idx3-ubyte' must be .* rank 3.*1 dimensions"):
        gb.data.load_mnist_idx(str(tmp_path))
    write(tmp_path / "t10k-images-idx3-ubyte", b"\x89PNG....")
    with pytest.raises(ValueError, match="is not an IDX file"):
        gb.data.load_mnist_idx(str(tmp_path))
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08 broken gzip")
    with pytest.raises(ValueError, match=r"Cannot read .*t10k-images-idx3-ubyte.gz"):
        gb.data.load_mnist_idx(str(tmp_path))
