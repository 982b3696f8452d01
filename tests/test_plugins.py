"""Plugins are discovered through a real distribution's entry points."""

import json
import os
import subprocess
import sys
from pathlib import Path

SITE = Path(__file__).parent / "plugin_fixture" / "site"

SCRIPT = r"""
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
import gan_blocks as gb
from gan_blocks import registry
before = "example_scaled_hinge" in registry._REGISTRY.get("loss", {})
loss = gb.losses.get("example_scaled_hinge")   # a miss triggers loading
names = gb.registry.names("loss")
gen = gb.registry.get("architecture", "example_mlp_generator")(4, 2)
result = {
    "loaded_before_lookup": before,
    "loss_class": type(loss).__name__,
    "margin": loss.margin,
    "listed": "example_scaled_hinge" in names,
    "generator_output": list(gen.outputs[0].shape),
    "plugins": gb.plugins.loaded(),
    "second_load": gb.plugins.load(),
}
import keras, numpy as np
g = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="tanh")])
d = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
gan = gb.models.GAN(g, d, 4, seed=0)
gan.compile(loss="example_scaled_hinge")
h = gan.fit(np.zeros((8, 2), "float32"), batch_size=8, verbose=0)
result["compiled_loss"] = type(gan.adversarial_loss).__name__
print("RESULT" + json.dumps(result))
"""


def _run(extra_env=None, code=SCRIPT):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SITE), env.get("PYTHONPATH", "")])
    env.pop("GAN_BLOCKS_PLUGINS", None)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def _result(process):
    assert process.returncode == 0, process.stderr[-3000:]
    line = [x for x in process.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])


def test_plugin_components_are_usable_by_name_and_broken_plugin_is_logged():
    process = _run()
    result = _result(process)
    assert result["loaded_before_lookup"] is False  # lazy
    assert result["loss_class"] == "ScaledHingeLoss"
    assert result["margin"] == 2.0
    assert result["listed"]
    assert result["generator_output"] == [None, 2]
    # "exits" raises SystemExit in register() (argparse): skipped, and the
    # process goes on (it printed RESULT).
    assert result["plugins"] == {"example": True, "broken": False, "exits": False}
    assert result["second_load"] == {"example": True, "broken": False, "exits": False}
    assert result["compiled_loss"] == "ScaledHingeLoss"
    # The broken plugin is logged with its name, and did not break anything.
    assert "broken" in process.stderr and "broken on purpose" in process.stderr
    assert "Failed to load gan-blocks plugin 'exits'" in process.stderr


def test_environment_variable_restricts_plugins():
    code = (
        "import gan_blocks as gb, json; gb.plugins.load(); "
        "print('RESULT' + json.dumps(gb.plugins.loaded()))"
    )
    result = _result(_run({"GAN_BLOCKS_PLUGINS": "example"}, code))
    assert result == {"example": True}
    code_missing = (
        "import gan_blocks as gb\n"
        "try:\n    gb.losses.get('example_scaled_hinge')\n"
        "except ValueError as e:\n    print('RESULT' + __import__('json').dumps(str(e)))\n"
    )
    message = _result(_run({"GAN_BLOCKS_PLUGINS": "broken"}, code_missing))
    assert "Unknown loss 'example_scaled_hinge'" in message
