"""Freeze the outputs of ``gl.train`` on the cases of ``tests/train_reference_cases.py``.

Run with the implementation to be preserved (it was run at commit 21a06eb, before the per-step
bookkeeping of ``gl.train`` was cut):  .venv/bin/python tests/data/make_train_reference.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from train_reference_cases import cases, outputs  # noqa: E402

import gaugelab as gl  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)
    ref = {name: outputs(gl.train(m, x, y, **kw)) for name, (m, x, y, kw) in cases().items()}
    torch.save(ref, HERE / "train_reference.pt")
    print(f"saved {len(ref)} cases to {HERE / 'train_reference.pt'}")


if __name__ == "__main__":
    main()
