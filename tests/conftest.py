import os

# The JAX suite's time goes into XLA:CPU compiling each small test model (a
# tiny U-Net: 25 s at the default optimization level, 10 s at 0). The tests
# check behaviour, not speed, so they compile unoptimized; benchmarks/
# measures speed with the defaults. Must be set before JAX initializes its
# backend; an explicit XLA_FLAGS optimization level wins. Not for TensorFlow:
# its XLA at level 0 computes a softplus of NaN as 0, so a NaN discriminator
# gives finite losses, and the NaN guard's tests would test a configuration
# no user runs.
if os.environ.get("KERAS_BACKEND") == "jax" and "optimization_level" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import gc  # noqa: E402

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--run-large", action="store_true", default=False, help="run tests marked large"
    )
    parser.addoption(
        "--every-backend",
        action="store_true",
        default=False,
        help="run tests marked one_backend(name) on every backend, not only on theirs",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "large: slow tests, skipped unless --run-large")
    config.addinivalue_line(
        "markers",
        "one_backend(name): an end-to-end run in a subprocess (an example script, a "
        "docs page) whose backend-specific code the unit tests cover on every "
        "backend; the suite runs it once, in the pass of backend `name`, unless "
        "--every-backend or --run-large is given",
    )
    config.addinivalue_line(
        "markers",
        "inductor: on torch, torch.compile generates code with its default backend "
        "(inductor) here; other tests trace with TorchDynamo and AOTAutograd only",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
    active = keras.backend.backend()
    if not config.getoption("--every-backend"):
        for item in items:
            marker = item.get_closest_marker("one_backend")
            if marker and marker.args[0] != active:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"runs in the {marker.args[0]} pass: --every-backend runs it here"
                    )
                )
    skip_large = pytest.mark.skip(reason="large test: run with --run-large")
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip_large)


@pytest.fixture(autouse=True)
def _reset_keras_state():
    keras.config.set_dtype_policy("float32")
    keras.utils.set_random_seed(1234)
    yield
    keras.config.set_dtype_policy("float32")
    keras.backend.clear_session()  # and a garbage collection: see _freeze_imports


@pytest.fixture(autouse=True, scope="session")
def _freeze_imports():
    # A full garbage collection walks every object alive: with TensorFlow,
    # JAX or torch imported that is 0.3 s, after each of some 600 tests.
    # What exists before the first test (the frameworks' modules) is moved
    # out of the collector's sight, so each collection walks the test's own.
    import gan_blocks  # noqa: F401

    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _torch_compile_without_code_generation(request, monkeypatch):
    # Inductor's C++ code generation takes minutes a model on a 2-core CPU
    # (13 minutes for one DiffAugment GAN). The torch tests check what
    # TorchDynamo traces (graphs, breaks, guards) and that compiled steps
    # match eager ones: "aot_eager" runs the same tracing and autograd
    # graphs, without generating kernels. Tests marked `inductor`, and every
    # test under --run-large, compile as users do.
    if (
        keras.backend.backend() != "torch"
        or request.node.get_closest_marker("inductor")
        or request.config.getoption("--run-large")
    ):
        yield
        return
    import torch

    compile_with_inductor = torch.compile

    def compile_without_code_generation(*args, **kwargs):
        kwargs.setdefault("backend", "aot_eager")
        return compile_with_inductor(*args, **kwargs)

    monkeypatch.setattr(torch, "compile", compile_without_code_generation)
    yield


def pytest_report_header(config):
    variable = os.environ.get("KERAS_BACKEND")
    return f"keras backend: {keras.backend.backend()} (KERAS_BACKEND={variable})"
