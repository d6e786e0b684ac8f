"""DistributedSampler: each of num_replicas processes iterates a disjoint, equally long share of the dataset."""
import math

import ctorch

from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world(what):
    # ctorch.distributed is a later issue; once it exists and is initialized, its world is used.
    try:
        from ctorch import distributed as dist
    except ImportError:
        dist = None
    if dist is None or not dist.is_available():
        raise RuntimeError(
            f"[DistributedSampler] {what} was not given and ctorch.distributed is not available yet; "
            "pass num_replicas= and rank= explicitly")
    return dist.get_world_size() if what == "num_replicas" else dist.get_rank()


class DistributedSampler(Sampler):
    """Rank `rank` of `num_replicas` gets indices rank, rank + num_replicas, ... of a (shuffled) order.

    Without drop_last the order is padded by repeating its start so that every replica gets
    ceil(len / num_replicas) samples; with drop_last the tail is dropped instead. With shuffle the
    order is ctorch.randperm under a Generator seeded with seed + epoch (call set_epoch each epoch)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None:
            num_replicas = _default_world("num_replicas")
        if rank is None:
            rank = _default_world("rank")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        if self.shuffle:
            g = ctorch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = ctorch.randperm(len(self.dataset), generator=g).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match total_size ({self.total_size})")
        indices = indices[self.rank:self.total_size:self.num_replicas]
        if len(indices) != self.num_samples:
            raise AssertionError(
                f"Number of subsampled indices ({len(indices)}) does not match num_samples ({self.num_samples})")
        return iter(indices)

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Sets the epoch, which (with seed) decides the shuffled order of the next iteration."""
        self.epoch = epoch
