import os

# The JAX suite's time goes into XLA:CPU compiling each small test model (a tiny
# U-Net: 25 s at the default optimization level, 10 s at 0). The tests check
# behaviour, not speed, so they compile unoptimized; benchmarks/ measures speed
# with the defaults. Must be set before JAX initializes its backend; an
# explicit XLA_FLAGS optimization level wins.
if os.environ.get("KERAS_BACKEND") == "jax" and "optimization_level" not in os.environ.get(
    "XLA_FLAGS", ""
):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0"
    ).strip()

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_addoption(parser):
    parser.addoption(
        "--run-large", action="store_true", default=False, help="run tests marked large"
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "large: slow tests, skipped unless --run-large")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-large"):
        return
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
    keras.backend.clear_session()


def pytest_report_header(config):
    variable = os.environ.get("KERAS_BACKEND")
    return f"keras backend: {keras.backend.backend()} (KERAS_BACKEND={variable})"
