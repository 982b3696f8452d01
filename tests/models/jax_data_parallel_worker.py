"""Trains a small GAN under `keras.distribution.DataParallel` (run by test_multi_process.py).

python jax_data_parallel_worker.py single OUT.npz        # one process, two CPU devices
python jax_data_parallel_worker.py 0 OUT.npz PORT         # process 0 of two (one device each)
python jax_data_parallel_worker.py 1 OUT.npz PORT         # process 1 of two
"""

import os
import sys

mode, out = sys.argv[1], sys.argv[2]
os.environ["KERAS_BACKEND"] = "jax"
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=" + (
    "2" if mode == "single" else "1"
)

import jax  # noqa: E402

if mode != "single":
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"localhost:{sys.argv[3]}",
        num_processes=2,
        process_id=int(mode),
        initialization_timeout=120,
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gan_blocks as gb  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from tests.models.helpers import mlp_discriminator, mlp_generator  # noqa: E402

assert len(jax.devices()) == 2, jax.devices()
keras.distribution.set_distribution(keras.distribution.DataParallel())
keras.utils.set_random_seed(0)
gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
gan.compile(keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2))
data = np.random.default_rng(0).uniform(-0.9, 0.9, (32, 2)).astype("float32")
# The global batch of 8: Keras gives each process its half (rebatch + shard).
gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(8), epochs=2, verbose=0)
if mode in ("single", "0"):
    # Replicated over both processes' devices: each process holds a full copy.
    values = [np.asarray(w.value.addressable_shards[0].data) for w in gan.weights]
    np.savez(out, *values)
