"""``CheckpointError``: the error of every world-model module that reads or checks a checkpoint."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, from another format, or for another env."""
