"""CycleGAN's ResNet generator and its unconditional PatchGAN discriminator."""

import keras
import numpy as np
import pytest

import gan_blocks as gb
from gan_blocks.testing import TestCase

# Parameters of the authors' PyTorch ResnetGenerator (pytorch-CycleGAN-and-pix2pix,
# norm="instance": affine=False, conv biases) at 3 -> 3 channels, ngf=64, 9 blocks.
REFERENCE_PARAMETERS = 11_378_179


def resnet_parameters(channels, output_channels, filters, blocks, kernel=3, reference=False):
    """Closed form: the reference has biases on every convolution and a parameter-free
    instance norm; gan-blocks drops the biases the norm cancels and has gamma and beta."""
    normalized = [(7, channels, filters), (3, filters, 2 * filters), (3, 2 * filters, 4 * filters)]
    normalized += [(3, 4 * filters, 4 * filters)] * (2 * blocks)
    normalized += [(kernel, 4 * filters, 2 * filters), (kernel, 2 * filters, filters)]
    total = 7 * 7 * filters * output_channels + output_channels  # tanh output conv, biased
    for size, inputs, outputs in normalized:
        total += size * size * inputs * outputs + (outputs if reference else 2 * outputs)
    return total


def residual_blocks(model):
    return sum(isinstance(layer, keras.layers.Add) for layer in model.layers)


@pytest.mark.parametrize("shape", [(32, 32, 3), (64, 64, 1)])
def test_output_has_the_input_shape_and_tanh_range(shape):
    generator = gb.architectures.resnet_generator(shape, filters=8)
    assert generator.output_shape == (None,) + shape
    images = 10 * np.random.default_rng(0).normal(size=(2,) + shape).astype("float32")
    outputs = keras.ops.convert_to_numpy(generator(images))
    assert outputs.shape == (2,) + shape
    assert np.all(np.abs(outputs) <= 1.0)
    norms = [x for x in generator.layers if isinstance(x, keras.layers.GroupNormalization)]
    assert all(norm.groups == norm.input.shape[-1] for norm in norms)  # instance norm
    assert all(norm.epsilon == 1e-5 for norm in norms)


def test_default_blocks_follow_the_paper():
    assert residual_blocks(gb.architectures.resnet_generator((64, 64, 3), filters=1)) == 6
    assert residual_blocks(gb.architectures.resnet_generator((256, 256, 3), filters=1)) == 9
    assert residual_blocks(gb.architectures.resnet_generator((512, 128, 3), filters=1)) == 6
    generator = gb.architectures.resnet_generator((64, 64, 3), filters=1, num_blocks=2)
    assert residual_blocks(generator) == 2
    assert gb.registry.get("architecture", "resnet_generator") is gb.architectures.resnet_generator


def test_parameter_count_matches_the_reference_generator():
    assert resnet_parameters(3, 3, 64, 9, reference=True) == REFERENCE_PARAMETERS
    generator = gb.architectures.resnet_generator((256, 256, 3), filters=64)
    assert residual_blocks(generator) == 9
    assert generator.count_params() == resnet_parameters(3, 3, 64, 9)
    widths = [x.filters for x in generator.layers if isinstance(x, keras.layers.Conv2D)]
    assert widths[:3] == [64, 128, 256] and set(widths[3:-1]) == {256}
    small = gb.architectures.resnet_generator(
        (16, 24, 2), filters=4, num_blocks=1, output_channels=3, upsample_kernel_size=4
    )
    assert small.count_params() == resnet_parameters(2, 3, 4, 1, kernel=4)
    assert small.output_shape == (None, 16, 24, 3)


def test_matches_the_pytorch_reference_layer_for_layer():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def norm(width):
        return nn.InstanceNorm2d(width, affine=True, eps=1e-5)

    class Block(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.conv_block = nn.Sequential(
                *(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), norm(width), nn.ReLU()),
                *(nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3), norm(width)),
            )

        def forward(self, x):
            return x + self.conv_block(x)

    f = 4
    reference = nn.Sequential(
        *(nn.ReflectionPad2d(3), nn.Conv2d(3, f, 7), norm(f), nn.ReLU()),
        *(nn.Conv2d(f, 2 * f, 3, stride=2, padding=1), norm(2 * f), nn.ReLU()),
        *(nn.Conv2d(2 * f, 4 * f, 3, stride=2, padding=1), norm(4 * f), nn.ReLU()),
        Block(4 * f),
        Block(4 * f),
        nn.ConvTranspose2d(4 * f, 2 * f, 3, stride=2, padding=1, output_padding=1),
        *(norm(2 * f), nn.ReLU()),
        nn.ConvTranspose2d(2 * f, f, 3, stride=2, padding=1, output_padding=1),
        *(norm(f), nn.ReLU()),
        *(nn.ReflectionPad2d(3), nn.Conv2d(f, 2, 7), nn.Tanh()),
    ).eval()
    generator = gb.architectures.resnet_generator(
        (16, 12, 3), filters=f, num_blocks=2, output_channels=2
    )
    ours = [layer for layer in generator.layers if layer.weights]
    theirs = [
        module
        for module in reference.modules()
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d))
    ]
    assert len(ours) == len(theirs)
    rng = np.random.default_rng(0)
    for layer, module in zip(ours, theirs):
        # Random biases (gan-blocks drops those an instance norm follows: no
        # effect) and random norm scales and offsets.
        with torch.no_grad():
            module.bias.copy_(torch.tensor(rng.normal(0, 0.1, module.bias.shape)))
            if isinstance(module, nn.InstanceNorm2d):
                module.weight.copy_(torch.tensor(rng.normal(1, 0.1, module.weight.shape)))
                layer.set_weights([module.weight.numpy(), module.bias.numpy()])
                continue
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            # Keras kernels are (h, w, in, out) / (h, w, out, in) for the transpose;
            # torch's (out, in, h, w) / (in, out, h, w): the same permutation.
            module.weight.copy_(torch.tensor(kernel.transpose(3, 2, 0, 1)))
            layer.set_weights([kernel] + ([module.bias.numpy()] if layer.use_bias else []))
    images = rng.uniform(-1, 1, (2, 16, 12, 3)).astype("float32")
    with torch.no_grad():
        expected = reference(torch.tensor(images.transpose(0, 3, 1, 2))).numpy()
    actual = keras.ops.convert_to_numpy(generator(images))
    np.testing.assert_allclose(actual, expected.transpose(0, 2, 3, 1), atol=1e-5)


def test_one_fit_step_updates_every_weight():
    generator = gb.architectures.resnet_generator((32, 32, 3), filters=8, num_blocks=2)
    generator.compile(keras.optimizers.SGD(0.1), loss="mse")
    before = [np.array(keras.ops.convert_to_numpy(w)) for w in generator.trainable_weights]
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    generator.fit(images, rng.uniform(-1, 1, images.shape), batch_size=2, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in generator.trainable_weights]
    unchanged = [
        w.path
        for w, old, new in zip(generator.trainable_weights, before, after)
        if np.all(old == new)
    ]
    assert not unchanged, unchanged


class ResnetGeneratorSavingTest(TestCase):
    def test_keras_file_reproduces_outputs_exactly(self):
        generator = gb.architectures.resnet_generator(
            (32, 32, 1), filters=8, num_blocks=2, output_channels=3
        )
        images = np.random.default_rng(2).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
        restored = self.run_model_saving_test(model=generator, input_data=images, atol=0.0)
        self.assertEqual(
            sum(isinstance(x, gb.layers.ReflectionPadding2D) for x in restored.layers), 6
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"image_shape": (32, 32)}, r"image_shape=\(32, 32\)"),
        ({"image_shape": (30, 32, 3)}, "multiples of 4"),
        ({"image_shape": (4, 4, 3)}, "at least 8"),
        ({"image_shape": (32, 32, 3), "num_blocks": -1}, "num_blocks=-1"),
        ({"image_shape": (32, 32, 3), "filters": 0}, "filters=0"),
        ({"image_shape": (32, 32, 3), "upsample_kernel_size": 2}, "upsample_kernel_size=2"),
    ],
)
def test_bad_arguments_say_what_was_received(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gb.architectures.resnet_generator(**kwargs)


def test_patchgan_discriminator_judges_single_images_for_cyclegan():
    discriminator = gb.architectures.patchgan_discriminator(
        (256, 256, 3), filters=2, normalization="instance", conditional=False
    )
    assert len(discriminator.inputs) == 1
    assert discriminator.output_shape == (None, 30, 30, 1)  # 70x70 patches
    head = discriminator.get_layer("head")
    assert head.receptive_field == 70 and head.normalization == "instance"
    small = gb.architectures.patchgan_discriminator(
        (32, 32, 3), filters=4, normalization="instance", conditional=False
    )
    logits = small(np.zeros((2, 32, 32, 3), "float32"))
    assert tuple(logits.shape) == (2, 2, 2, 1)
    pix2pix = gb.architectures.patchgan_discriminator((32, 32, 3), filters=4)
    assert len(pix2pix.inputs) == 2  # conditional stays the default
    with pytest.raises(ValueError, match="target_channels=1, conditional=False"):
        gb.architectures.patchgan_discriminator((32, 32, 3), target_channels=1, conditional=False)
