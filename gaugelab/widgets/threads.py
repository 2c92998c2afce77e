"""One torch thread for the widgets' small computations.

The widgets train nets of a few dozen parameters: with two torch threads on a busy 2-core machine
the threads wait for each other and a penalty run takes several times longer than with one (measured
in the RelaxationPlayer: a row of 61 runs, 0.28 s with one thread against 1.5 s with two, load ≈ 5).
:func:`one_thread` sets one thread for the duration of a block and restores the previous count.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def one_thread():
    """``with one_thread(): ...`` runs the block with ``torch.set_num_threads(1)``, then restores."""
    before = torch.get_num_threads()
    if before != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before != 1:
            torch.set_num_threads(before)
