"""`gb.data.load_prepared`: memory-mapped prepared datasets as deterministic `fit` batches."""

import json
import os

import keras
import numpy as np
import pytest

import gan_blocks as gb


def write_prepared(path, images, labels=None, shard_size=50):
    """Writes the prepared-dataset format directly (independent of `prepare_images`)."""
    os.makedirs(path, exist_ok=True)
    shards = []
    for number, begin in enumerate(range(0, len(images), shard_size)):
        shard = {"images": f"images-{number:05d}.npy", "labels": None, "count": 0}
        chunk = images[begin : begin + shard_size]
        np.save(os.path.join(path, shard["images"]), chunk)
        shard["count"] = len(chunk)
        if labels is not None:
            shard["labels"] = f"labels-{number:05d}.npy"
            np.save(os.path.join(path, shard["labels"]), labels[begin : begin + shard_size])
        shards.append(shard)
    manifest = {
        "format": "gan-blocks-prepared",
        "version": 1,
        "resolution": images.shape[1],
        "channels": images.shape[3],
        "count": len(images),
        "shards": shards,
        "label_names": None if labels is None else [str(i) for i in range(labels.max() + 1)],
        "crop": "center",
        "filter": "lanczos",
    }
    with open(os.path.join(path, "dataset.json"), "w") as file:
        json.dump(manifest, file)
    return str(path)


def random_images(count, resolution=8, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, resolution, resolution, channels), dtype=np.uint8)


@pytest.fixture
def labelled(tmp_path):
    images = random_images(130)
    labels = np.arange(130) % 5
    return write_prepared(tmp_path / "d", images, labels), images, labels


def test_batches_are_the_stored_images_scaled_flipped_and_with_their_labels(labelled):
    path, images, labels = labelled
    dataset = gb.data.load_prepared(path, batch_size=32, seed=3)
    assert len(dataset) == 4  # 130 // 32, the partial batch dropped
    seen, flipped = [], 0
    for epoch in range(2):
        dataset.set_epoch(epoch)
        for index in range(len(dataset)):
            batch, batch_labels = dataset[index]
            assert batch.dtype == np.float32 and batch.shape == (32, 8, 8, 3)
            assert batch_labels.dtype == np.int32 and batch_labels.shape == (32,)
            ids, flips = dataset.batch_indices(index)
            stored = images[ids]
            stored[flips] = np.flip(stored[flips], axis=2)  # width axis of NHWC
            np.testing.assert_array_equal(batch, stored / np.float32(127.5) - np.float32(1))
            np.testing.assert_array_equal(batch_labels, labels[ids])
            # Each label belongs to its image: match images back to the stored ones.
            unflipped = np.where(flips[:, None, None, None], np.flip(batch, 2), batch)
            original = np.rint((unflipped + 1) * 127.5).astype(np.uint8)
            found = [
                int(np.flatnonzero((images == image).all(axis=(1, 2, 3)))[0]) for image in original
            ]
            np.testing.assert_array_equal(labels[found], batch_labels)
            flipped += int(flips.sum())
            if epoch == 0:
                seen.extend(ids)
    assert len(set(seen)) == len(seen) == 128  # One pass: no image twice.
    assert 0.35 < flipped / 256 < 0.65
    assert -1 <= batch.min() and batch.max() <= 1


def test_same_seed_same_batches_across_instances_and_resumed_epochs(labelled):
    path, _, _ = labelled

    def epochs(dataset, first, last):
        batches = []
        for epoch in range(first, last):
            dataset.set_epoch(epoch)
            batches.append([dataset[i][0] for i in range(len(dataset))])
        return batches

    full = epochs(gb.data.load_prepared(path, 16, seed=7), 0, 3)
    again = epochs(gb.data.load_prepared(path, 16, seed=7), 0, 3)
    np.testing.assert_array_equal(full, again)
    resumed = gb.data.load_prepared(path, 16, seed=7)
    resumed.set_epoch(2)
    np.testing.assert_array_equal(full[2], [resumed[i][0] for i in range(len(resumed))])
    # on_epoch_end counts epochs the same way.
    counted = gb.data.load_prepared(path, 16, seed=7)
    counted.on_epoch_end()
    np.testing.assert_array_equal(full[1][3], counted[3][0])
    assert not np.array_equal(full[0], full[1])  # A new order each epoch.
    other = epochs(gb.data.load_prepared(path, 16, seed=8), 0, 1)
    assert not np.array_equal(full[0], other[0])


def test_options_no_flip_no_shuffle_no_labels_and_unlabelled(tmp_path):
    images = random_images(20, channels=1)
    path = write_prepared(tmp_path / "d", images, np.zeros(20, np.int64))
    dataset = gb.data.load_prepared(path, 8, xflip=False, shuffle=False, labels=False)
    batch = dataset[1]
    assert isinstance(batch, np.ndarray)
    np.testing.assert_array_equal(batch, images[8:16] / np.float32(127.5) - np.float32(1))
    kept = gb.data.load_prepared(path, 8, shuffle=False, drop_remainder=False)
    assert len(kept) == 3 and kept[2][0].shape == (4, 8, 8, 1)
    unlabelled = write_prepared(tmp_path / "u", images)
    # labels=True (the default) on a dataset without labels: images only.
    assert isinstance(gb.data.load_prepared(unlabelled, 8, seed=0)[0], np.ndarray)


def test_repeat_is_an_endless_stream_of_passes(labelled):
    path, _, _ = labelled
    finite = gb.data.load_prepared(path, 32, seed=1)
    stream = gb.data.load_prepared(path, 32, seed=1, repeat=True)
    assert stream.num_batches is None and finite.num_batches == 4
    finite.set_epoch(2)
    np.testing.assert_array_equal(stream[9][0], finite[1][0])  # pass 2, batch 1
    resumed = gb.data.load_prepared(path, 32, seed=1, repeat=True, start_batch=7)
    np.testing.assert_array_equal(resumed[2][0], stream[9][0])


def test_processes_read_disjoint_slices_that_make_the_global_batch(labelled):
    path, _, _ = labelled
    whole = gb.data.load_prepared(path, 32, seed=5, num_processes=1, process_index=0)
    parts = [
        gb.data.load_prepared(path, 32, seed=5, num_processes=2, process_index=k) for k in (0, 1)
    ]
    covered = []
    for index in range(len(whole)):
        ids = [part.batch_indices(index)[0] for part in parts]
        assert len(ids[0]) == len(ids[1]) == 16 and not set(ids[0]) & set(ids[1])
        np.testing.assert_array_equal(np.concatenate(ids), whole.batch_indices(index)[0])
        np.testing.assert_array_equal(
            np.concatenate([part[index][0] for part in parts]), whole[index][0]
        )
        covered.extend(np.concatenate(ids))
    assert sorted(covered) == sorted(whole._order(0)[:128])
    with pytest.raises(ValueError, match="same `seed`"):
        gb.data.load_prepared(path, 32, num_processes=2, process_index=0)
    with pytest.raises(ValueError, match="divide among the 3 processes"):
        gb.data.load_prepared(path, 32, seed=0, num_processes=3, process_index=0)


def test_clear_errors(tmp_path, labelled):
    path, _, _ = labelled
    with pytest.raises(FileNotFoundError, match="no such directory"):
        gb.data.load_prepared(tmp_path / "missing", 4)
    os.makedirs(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="holds no dataset.json"):
        gb.data.load_prepared(tmp_path / "empty", 4)
    for key, value, message in [("format", "other", "format='other'"), ("version", 2, "version 2")]:
        manifest = json.load(open(os.path.join(path, "dataset.json")))
        manifest[key] = value
        bad = tmp_path / f"bad_{key}"
        os.makedirs(bad)
        json.dump(manifest, open(bad / "dataset.json", "w"))
        with pytest.raises(ValueError, match=message):
            gb.data.load_prepared(bad, 4)
    with pytest.raises(ValueError, match="batch_size=0"):
        gb.data.load_prepared(path, 0)
    with pytest.raises(ValueError, match="holds 130 images.*batch_size=131"):
        gb.data.load_prepared(path, 131)
    with pytest.raises(IndexError):
        gb.data.load_prepared(path, 32)[4]


def tiny_players(shape=(8, 8, 3)):
    generator = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(int(np.prod(shape)), activation="tanh"),
            keras.layers.Reshape(shape),
        ]
    )
    discriminator = keras.Sequential(
        [keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    return generator, discriminator


def test_gan_fits_on_the_loader(labelled, tmp_path):
    path, _, _ = labelled
    generator, discriminator = tiny_players()
    gan = gb.models.GAN(generator, discriminator, latent_dim=8, seed=0)
    gan.compile()
    history = gan.fit(gb.data.load_prepared(path, 64, seed=0), epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"][0])
    assert gan.trained_steps() == 2  # 130 images, batches of 64
    stream = gb.data.load_prepared(path, 64, seed=0, repeat=True)
    history = gan.fit(stream, epochs=2, steps_per_epoch=1, verbose=0)
    assert len(history.history["g_loss"]) == 2


def test_conditional_gan_fits_one_step_on_labels(labelled):
    path, _, _ = labelled
    z, y = keras.Input((8,)), keras.Input((), dtype="int32")
    embedded = keras.layers.Embedding(5, 8)(y)
    h = keras.layers.Dense(8 * 8 * 3, activation="tanh")(keras.layers.Concatenate()([z, embedded]))
    generator = keras.Model([z, y], keras.layers.Reshape((8, 8, 3))(h))
    x, c = keras.Input((8, 8, 3)), keras.Input((), dtype="int32")
    h = keras.layers.Concatenate()([keras.layers.Flatten()(x), keras.layers.Embedding(5, 4)(c)])
    discriminator = keras.Model([x, c], keras.layers.Dense(1)(h))
    cgan = gb.models.ConditionalGAN(generator, discriminator, 8, num_classes=5, seed=0)
    cgan.compile()
    dataset = gb.data.load_prepared(path, 64, seed=0)
    history = cgan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0)
    assert np.isfinite(history.history["d_loss"][0])
