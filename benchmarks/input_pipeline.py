"""Images/s of input pipelines next to the images/s of a GAN training step (issue #29).

Reads a synthetic dataset (smooth random images plus noise, so PNG does not
compress them to nothing) in several formats, as shuffled, x-flipped float32
batches in [-1, 1] handed to Python as numpy (what `fit` on JAX and torch
receives):

- `load_prepared`: `gb.data.load_prepared` over `.npy` memory maps (the format
  `gb.data.prepare_images` writes), with and without x-flip, synchronous
  (`workers=0`) and with 2 worker threads (Keras' `PyDataset` enqueuer);
- `tf.data` over TFRecord files of PNG-encoded images (parse, decode, flip,
  cast, parallel map, shuffle buffer, prefetch: the common pattern) and of raw
  uint8 bytes (no decode);
- `array_record` of raw bytes, read by index with its Python reader.

Then `gb.models.GAN.fit` steps of a DCGAN (`gb.architectures` builders, 64x64x3,
batch 64, `jit_compile=True`, JAX backend), on in-memory arrays and on the
loader, for the images/s the input pipeline has to keep up with.

    python benchmarks/input_pipeline.py --out /tmp/input_pipeline.json
    python benchmarks/input_pipeline.py --resolutions 64 --count 1024 --skip-gan   # quick

Numbers depend on the machine and on what else runs on it; the script prints
the CPU count and load.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--count", type=int, default=2048, help="images at 64x64")
    parser.add_argument(
        "--count-large", type=int, default=512, help="images at resolutions above 64"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per timed run (about)")
    parser.add_argument("--gan-steps", type=int, default=3)
    parser.add_argument("--skip-gan", action="store_true")
    parser.add_argument("--skip-tf", action="store_true")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    parser.add_argument("--workdir", default=None, help="where to write the datasets (temp)")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------- data
def synthetic_images(count, resolution, seed=0):
    """uint8 images: random low-frequency colour fields plus noise (PNG-compressible a bit)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (count, 4, 4, 3)).astype(np.float32)
    repeat = resolution // 4
    smooth = np.repeat(np.repeat(coarse, repeat, axis=1), repeat, axis=2)
    noise = rng.normal(0, 12, smooth.shape).astype(np.float32)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def write_prepared(path, images, shard_size=1024):
    """The prepared-dataset format, written directly (as `prepare_images` writes it)."""
    os.makedirs(path, exist_ok=True)
    shards = []
    for number, begin in enumerate(range(0, len(images), shard_size)):
        name = f"images-{number:05d}.npy"
        chunk = images[begin : begin + shard_size]
        np.save(os.path.join(path, name), chunk)
        shards.append({"images": name, "labels": None, "count": len(chunk)})
    manifest = {
        "format": "gan-blocks-prepared",
        "version": 1,
        "resolution": images.shape[1],
        "channels": images.shape[3],
        "count": len(images),
        "shards": shards,
        "label_names": None,
    }
    with open(os.path.join(path, "dataset.json"), "w") as file:
        json.dump(manifest, file)


def write_tfrecords(path, images, encoding, files=4):
    import tensorflow as tf

    os.makedirs(path, exist_ok=True)
    names = []
    for part in range(files):
        name = os.path.join(path, f"part-{part}.tfrecord")
        with tf.io.TFRecordWriter(name) as writer:
            for image in images[part::files]:
                data = tf.io.encode_png(image).numpy() if encoding == "png" else image.tobytes()
                feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))}
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())
        names.append(name)
    return names


def write_array_record(path, images):
    from array_record.python import array_record_module

    writer = array_record_module.ArrayRecordWriter(path, "group_size:1")
    for image in images:
        writer.write(image.tobytes())
    writer.close()


def directory_mib(path):
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, name)) for name in files)
    return total / 2**20


# ------------------------------------------------------------------- readers
def time_batches(batches, seconds, batch_size):
    """Images/s of an endless batch iterator over about `seconds` (after 2 warm-up batches)."""
    for _ in range(2):
        next(batches)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        images = next(batches)
        assert images.shape[0] == batch_size and images.dtype == np.float32
        count += len(images)
    return count / (time.perf_counter() - start)


def prepared_batches(path, batch_size, xflip, workers):
    """An endless stream through Keras' PyDataset adapter (the enqueuer with workers > 1).

    `repeat=True`, as `fit(steps_per_epoch=...)` reads it: Keras stops and
    restarts its enqueuer at every epoch end (about 0.1 s each), which would
    measure Keras, not the loader, on small epochs.
    """
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    import gan_blocks as gb

    dataset = gb.data.load_prepared(
        path, batch_size, xflip=xflip, seed=0, repeat=True, workers=workers, max_queue_size=8
    )
    adapter = PyDatasetAdapter(dataset)
    adapter.on_epoch_begin()
    try:
        for (batch,) in adapter.get_numpy_iterator():
            yield batch
    finally:
        adapter.on_epoch_end()


def tf_batches(files, batch_size, resolution, encoding):
    import tensorflow as tf

    def parse(record):
        data = tf.io.parse_single_example(record, {"image": tf.io.FixedLenFeature([], tf.string)})
        if encoding == "png":
            image = tf.io.decode_png(data["image"], channels=3)
        else:
            image = tf.reshape(tf.io.decode_raw(data["image"], tf.uint8), (resolution,) * 2 + (3,))
        image = tf.image.random_flip_left_right(image)
        return tf.cast(image, tf.float32) / 127.5 - 1.0

    dataset = (
        tf.data.TFRecordDataset(files, num_parallel_reads=len(files))
        .shuffle(2048)
        .repeat()
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    for batch in dataset:
        yield batch.numpy()


def array_record_batches(path, count, batch_size, resolution):
    from array_record.python import array_record_module

    reader = array_record_module.ArrayRecordReader(
        path, "readahead_buffer_size:0,max_parallelism:0"
    )
    rng = np.random.default_rng(0)
    shape = (resolution, resolution, 3)
    while True:
        order = rng.permutation(count)
        for begin in range(0, count - batch_size + 1, batch_size):
            records = reader.read([int(i) for i in np.sort(order[begin : begin + batch_size])])
            images = np.stack([np.frombuffer(r, np.uint8).reshape(shape) for r in records])
            flips = rng.random(batch_size) < 0.5
            images[flips] = images[flips, :, ::-1]
            yield images.astype(np.float32) / np.float32(127.5) - np.float32(1)


# ----------------------------------------------------------------------- GAN
def gan_images_per_second(path, batch_size, steps, seconds):
    """Images/s of `GAN.fit` (DCGAN 64x64x3, jit) on arrays and on the loader."""
    import keras

    import gan_blocks as gb

    keras.utils.set_random_seed(0)
    shape = (64, 64, 3)
    gan = gb.models.GAN(
        gb.architectures.dcgan_generator(100, shape),
        gb.architectures.dcgan_discriminator(shape),
        latent_dim=100,
        seed=0,
    )
    gan.compile(jit_compile=True)
    times = {}

    class StepTimer(keras.callbacks.Callback):
        # From the end of the first batch (compiled, guard read) to the epoch's end.
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                times["start"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times["stop"] = time.perf_counter()

    arrays = np.random.default_rng(0).uniform(-1, 1, ((steps + 1) * batch_size,) + shape)
    arrays = arrays.astype(np.float32)
    start = time.perf_counter()
    gan.fit(arrays[: 2 * batch_size], batch_size=batch_size, epochs=1, verbose=0)
    compile_seconds = time.perf_counter() - start
    results = {"compile_and_first_fit_s": compile_seconds}
    for name, data, kwargs in [
        ("arrays", arrays, {"batch_size": batch_size, "shuffle": False}),
        (
            "load_prepared",
            gb.data.load_prepared(path, batch_size, seed=0, repeat=True),
            {"steps_per_epoch": steps + 1},
        ),
    ]:
        gan.fit(data, epochs=1, verbose=0, callbacks=[StepTimer()], **kwargs)
        results[name] = steps * batch_size / (times["stop"] - times["start"])
    return results


# ---------------------------------------------------------------------- main
def main(argv=None):
    args = parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="input-pipeline-")
    rows, sizes = [], {}
    have_tf = not args.skip_tf
    if have_tf:
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            have_tf = False
    try:
        from array_record.python import array_record_module  # noqa: F401

        have_array_record = True
    except ImportError:
        have_array_record = False

    def record(resolution, pipeline, variant, rate):
        row = {"resolution": resolution, "pipeline": pipeline, "variant": variant}
        rows.append(dict(row, images_per_s=rate))
        print(f"{resolution:>4}  {pipeline:<24} {variant:<28} {rate:>10,.0f}", flush=True)

    print(f"cpus={os.cpu_count()} load={os.getloadavg()} python={platform.python_version()}")
    print(f"{'res':>4}  {'pipeline':<24} {'variant':<28} {'images/s':>10}")
    gan_path = None
    try:
        for resolution in args.resolutions:
            count = args.count if resolution <= 64 else args.count_large
            images = synthetic_images(count, resolution)
            base = os.path.join(workdir, str(resolution))
            prepared = os.path.join(base, "prepared")
            write_prepared(prepared, images)
            sizes[f"{resolution}/npy"] = directory_mib(prepared)
            if resolution == 64:
                gan_path = prepared
            for xflip in (True, False):
                for workers in (0, 2):
                    rate = time_batches(
                        prepared_batches(prepared, args.batch_size, xflip, workers),
                        args.seconds,
                        args.batch_size,
                    )
                    variant = f"xflip={xflip}, workers={workers}"
                    record(resolution, "load_prepared (npy)", variant, rate)
            if have_tf:
                for encoding in ("png", "raw"):
                    folder = os.path.join(base, f"tfrecord-{encoding}")
                    files = write_tfrecords(folder, images, encoding)
                    sizes[f"{resolution}/tfrecord-{encoding}"] = directory_mib(folder)
                    rate = time_batches(
                        tf_batches(files, args.batch_size, resolution, encoding),
                        args.seconds,
                        args.batch_size,
                    )
                    record(resolution, f"tf.data TFRecord {encoding}", "xflip, AUTOTUNE", rate)
            if have_array_record:
                name = os.path.join(base, "images.array_record")
                write_array_record(name, images)
                sizes[f"{resolution}/array_record"] = os.path.getsize(name) / 2**20
                rate = time_batches(
                    array_record_batches(name, count, args.batch_size, resolution),
                    args.seconds,
                    args.batch_size,
                )
                record(resolution, "array_record raw", "xflip, by index", rate)
        gan = None
        if not args.skip_gan and gan_path is not None:
            gan = gan_images_per_second(gan_path, args.batch_size, args.gan_steps, args.seconds)
            record(64, "GAN.fit DCGAN step", "numpy arrays, jit", gan["arrays"])
            record(64, "GAN.fit DCGAN step", "load_prepared, jit", gan["load_prepared"])
        print("on-disk MiB:", {key: round(value, 1) for key, value in sizes.items()})
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
            "keras_backend": os.environ["KERAS_BACKEND"],
        },
        "batch_size": args.batch_size,
        "rows": rows,
        "disk_mib": sizes,
        "gan": gan,
    }
    if args.out:
        with open(args.out, "w") as file:
            json.dump(results, file, indent=2)
    return results


if __name__ == "__main__":
    main()
