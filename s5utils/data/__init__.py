"""Data: MNIST provisioned and checked, its data sets and loaders, other data sets, the tensor path, augmentation.

    provision        the four MNIST IDX files under ROOT/MNIST/raw/, checked by md5
    mnist            MNIST data sets with the seed's transforms, and their DataLoaders
    other_datasets   torchvision's MNIST-like sets and a user's own tensors, normalized with their statistics
    cifar10          CIFAR-10 from its published python batches (torchvision's reader, md5 checked), denormalize
    albumentations_transform   albumentations Compose as a torchvision-style transform; the S9 and S10/S11 presets
    system_datasets  data sets a Linux distribution installs (Debian's dataset-fashion-mnist), unpacked for torchvision
    tensor_loader    MNIST as one uint8 tensor on the device; batches are randperm slices
    batch_augment    the seed's augmentation for a whole batch at once

Users import the public names from `s5utils`; this layer imports only the top-level basics.
"""

from s5utils.compat import forwarded


def __getattr__(name: str):
    # 0.1.0 code imported names from the module s5utils/data.py, which this package replaced.
    return forwarded("data", name)
