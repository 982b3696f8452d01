import pytest

import gan_blocks as gb


def test_builtin_losses_are_listed():
    names = gb.registry.names("loss")
    for name in [
        "minimax",
        "non_saturating",
        "least_squares",
        "hinge",
        "wasserstein",
        "relativistic_average",
    ]:
        assert name in names


def test_register_same_object_twice_is_harmless():
    class Thing:
        pass

    gb.registry.register("test_kind", "thing")(Thing)
    gb.registry.register("test_kind", "thing")(Thing)
    assert gb.registry.get("test_kind", "THING") is Thing


def test_register_different_object_under_taken_name_raises():
    class A:
        pass

    class B:
        pass

    gb.registry.register("test_kind", "taken")(A)
    with pytest.raises(ValueError, match="already registered"):
        gb.registry.register("test_kind", "taken")(B)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="Known loss names: .*hinge"):
        gb.registry.get("loss", "no_such_loss")


def test_registered_loss_is_usable_by_name():
    @gb.registry.register("loss", "test_registered_hinge")
    class MyHinge(gb.losses.HingeLoss):
        pass

    assert isinstance(gb.losses.get("test_registered_hinge"), MyHinge)
