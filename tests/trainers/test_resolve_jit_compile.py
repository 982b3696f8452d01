"""`resolve_auto_jit_compile`: what `compile(jit_compile="auto")` stands for.

Nothing is timed: the TensorFlow device query and oneDNN state are patched to
cover each branch of the rule on any machine.
"""

import os
import platform
import subprocess
import sys

import keras
import pytest

from gan_blocks.trainers import get_trainer, resolve_auto_jit_compile

BACKEND = keras.backend.backend()
on_tensorflow = pytest.mark.skipif(BACKEND != "tensorflow", reason="TensorFlow's rule")
on_jax = pytest.mark.skipif(BACKEND != "jax", reason="JAX's rule")
on_torch = pytest.mark.skipif(BACKEND != "torch", reason="torch's rule")


class NoJit(keras.layers.Layer):
    """An identity layer that declares it cannot run under XLA."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_jit = False

    def call(self, inputs):
        return inputs


def tiny_model(jit_friendly=True):
    layers = [keras.Input((3,)), keras.layers.Dense(2)]
    if not jit_friendly:
        layers.append(NoJit())
    return keras.Sequential(layers)


def test_run_eagerly_never_compiles():
    assert resolve_auto_jit_compile(tiny_model(), run_eagerly=True) is False


def test_dispatcher_is_the_trainers_rule():
    model = tiny_model()
    assert resolve_auto_jit_compile(model) is get_trainer().resolve_auto_jit_compile(model)


def test_a_model_compiles_with_the_resolved_value():
    model = tiny_model()
    expected = resolve_auto_jit_compile(model)
    model.compile(optimizer="sgd", loss="mse", jit_compile=expected)
    assert model.jit_compile is expected


# ------------------------------------------------------------------ TensorFlow
@pytest.fixture
def tf_machine(monkeypatch):
    """Sets the machine TensorFlow's rule sees: `machine(accelerator, onednn)`."""
    from gan_blocks.trainers import tensorflow as tf_trainer

    def machine(accelerator, onednn):
        monkeypatch.setattr(tf_trainer, "_has_accelerator", lambda: accelerator)
        monkeypatch.setattr(tf_trainer, "onednn_enabled", lambda: onednn)
        return tf_trainer

    return machine


@on_tensorflow
def test_tensorflow_cpu_without_onednn_uses_xla(tf_machine):
    trainer = tf_machine(accelerator=False, onednn=False)
    assert trainer.resolve_auto_jit_compile(tiny_model()) is True
    assert resolve_auto_jit_compile(tiny_model()) is True
    # ... unless a layer cannot run under XLA (Keras' model_supports_jit).
    assert trainer.resolve_auto_jit_compile(tiny_model(jit_friendly=False)) is False


@on_tensorflow
def test_tensorflow_cpu_with_onednn_keeps_tensorflow_kernels(tf_machine):
    trainer = tf_machine(accelerator=False, onednn=True)
    assert trainer.resolve_auto_jit_compile(tiny_model()) is False
    assert resolve_auto_jit_compile(tiny_model()) is False


@on_tensorflow
@pytest.mark.parametrize("onednn", [False, True])
def test_tensorflow_accelerator_follows_keras(tf_machine, onednn):
    trainer = tf_machine(accelerator=True, onednn=onednn)
    assert trainer.resolve_auto_jit_compile(tiny_model()) is True
    assert trainer.resolve_auto_jit_compile(tiny_model(jit_friendly=False)) is False


@on_tensorflow
@pytest.mark.parametrize("accelerator", [False, True])
def test_tensorflow_distribute_strategy_disables_xla(tf_machine, accelerator):
    import tensorflow as tf

    trainer = tf_machine(accelerator=accelerator, onednn=False)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        # Created under the strategy: Keras records it on the model.
        model = tiny_model()
    assert trainer.resolve_auto_jit_compile(model) is False
    # Created outside, resolved (compiled) inside the scope.
    model = tiny_model()
    assert trainer.resolve_auto_jit_compile(model) is True
    with strategy.scope():
        assert trainer.resolve_auto_jit_compile(model) is False


def _onednn_in_subprocess(value):
    environment = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=value, KERAS_BACKEND="tensorflow")
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    code = "from gan_blocks.trainers.tensorflow import onednn_enabled; print(onednn_enabled())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


LINUX_X86 = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


@on_tensorflow
def test_onednn_enabled_follows_the_environment_variable():
    # TensorFlow reads the variable once, when it is imported: subprocesses.
    assert _onednn_in_subprocess("0") == "False"
    # TensorFlow's Linux x86 builds include oneDNN; others may not.
    assert _onednn_in_subprocess("1") in (("True",) if LINUX_X86 else ("True", "False"))


@on_tensorflow
def test_onednn_fallback_rule(monkeypatch):
    from gan_blocks.trainers import tensorflow as tf_trainer

    initial = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    for value, expected in (("0", False), ("false", False), ("1", True), ("TRUE", True)):
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", value)
        assert tf_trainer._onednn_default() is expected
    if initial is None and LINUX_X86:
        # Unset: the CPU-feature rule, which must agree with TensorFlow's own.
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
        assert tf_trainer._onednn_default() is tf_trainer.onednn_enabled()


# ------------------------------------------------------------------ JAX, torch
@on_jax
def test_jax_compiles_models_that_support_jit():
    from gan_blocks.trainers import jax as jax_trainer

    assert jax_trainer.resolve_auto_jit_compile(tiny_model()) is True
    assert jax_trainer.resolve_auto_jit_compile(tiny_model(jit_friendly=False)) is False


@on_torch
def test_torch_is_eager_until_a_fit_decides():
    from gan_blocks.trainers import torch as torch_trainer

    assert torch_trainer.resolve_auto_jit_compile(tiny_model()) is False
    assert resolve_auto_jit_compile(tiny_model()) is False


def test_multi_worker_mirrored_strategy_over_several_workers_is_refused_clearly():
    # Keras 3.15's fit fails under it for any model, after the workers started
    # (issue #31, item 20); one worker is a MirroredStrategy and trains.
    if keras.backend.backend() != "tensorflow":
        pytest.skip("a tf.distribute strategy")
    from unittest import mock

    import tensorflow as tf

    from gan_blocks.trainers import tensorflow as trainer

    def strategy(workers):
        fake = mock.MagicMock(spec=tf.distribute.MultiWorkerMirroredStrategy)
        cluster = {"worker": [f"host{i}:2222" for i in range(workers)]} if workers else {}
        fake.cluster_resolver.cluster_spec.return_value.as_dict.return_value = cluster
        return fake

    with pytest.raises(RuntimeError, match=r"over 2 workers is not supported.*Many machines"):
        trainer.check_distribution(strategy(2))
    trainer.check_distribution(strategy(0))  # one local worker
    trainer.check_distribution(tf.distribute.MirroredStrategy(["/cpu:0"]))
    trainer.check_distribution()  # the default strategy


@pytest.mark.skipif(BACKEND == "torch", reason="torch decides during fit (test_torch_steps)")
def test_fit_says_once_what_auto_chose(capsys):
    import gan_blocks as gb
    from tests.models.helpers import mlp_discriminator, mlp_generator, toy_data

    gan = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    gan.compile()  # jit_compile="auto"
    gan.fit(toy_data(8), batch_size=8, verbose=0)
    assert "jit_compile" not in capsys.readouterr().out  # silent with verbose=0
    gan.fit(toy_data(8), batch_size=8, verbose=2)
    gan.fit(toy_data(8), batch_size=8, verbose=2)
    out = capsys.readouterr().out
    expected = f'GAN: jit_compile="auto" chose {gan.jit_compile} on {keras.backend.backend()}'
    assert out.count(expected) == 1, out
    explicit = gb.models.GAN(mlp_generator(), mlp_discriminator(), latent_dim=4, seed=0)
    explicit.compile(jit_compile=False)
    explicit.fit(toy_data(8), batch_size=8, verbose=2)
    assert "chose" not in capsys.readouterr().out
