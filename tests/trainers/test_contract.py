import inspect

import keras

from gan_blocks.trainers import get_trainer
from gan_blocks.trainers.contract import TRAINER_FUNCTIONS, Trainer


def test_the_active_trainer_implements_the_whole_contract():
    trainer = get_trainer()
    declared = {
        name
        for name, value in vars(Trainer).items()
        if callable(value) and not name.startswith("_")
    }
    assert declared == set(TRAINER_FUNCTIONS)
    for name in TRAINER_FUNCTIONS:
        function = getattr(trainer, name, None)
        assert callable(function), f"{trainer.__name__} lacks {name}"
        expected = list(inspect.signature(getattr(Trainer, name)).parameters)[1:]  # no self
        got = list(inspect.signature(function).parameters)
        if "args" not in expected:  # train_step/test_step differ by backend (JAX: state).
            assert got == expected, (name, got, expected)


def test_replica_share_without_replicas_is_the_whole_draw():
    draw = get_trainer().replica_share(lambda n: keras.ops.arange(n), 5)
    assert keras.ops.convert_to_numpy(draw).tolist() == [0, 1, 2, 3, 4]


def test_copy_state_copies_survive_later_updates():
    import numpy as np

    variables = [
        keras.Variable(np.arange(6, dtype="float32").reshape(2, 3)),
        keras.Variable(np.array([3, 7], dtype="int32"), trainable=False),
        keras.Variable(np.array(0.5, dtype="float32")),
    ]
    originals = [keras.ops.convert_to_numpy(v.value).copy() for v in variables]
    trainer = get_trainer()
    copies = trainer.copy_state([v.value for v in variables])
    for variable in variables:
        variable.assign(variable.value * 0 + 9)
    for copy, original in zip(copies, originals):
        assert keras.ops.convert_to_numpy(copy).dtype == original.dtype
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(copy), original)
    # A second snapshot may take over the first one's memory (torch does).
    again = trainer.copy_state([v.value for v in variables], reuse=copies)
    for copy in again:
        assert (keras.ops.convert_to_numpy(copy) == 9).all()
