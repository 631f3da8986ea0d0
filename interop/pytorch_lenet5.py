#!/usr/bin/env python3
"""LeNet-5 weights between PyTorch and tapegrad, both ways.

tapegrad's `nn::models::lenet5` names its parameters as PyTorch's
`nn.Sequential` does (0.weight, 0.bias, 3.weight, ..., 11.bias), stores them
in safetensors with PyTorch's layouts (conv [out, in, kh, kw], linear
[out, in]), and reads MNIST pixels as p/255. So a state dict moves as is.

Needs `pip install torch safetensors` (the tests do not: they read the
files this script wrote, which are committed).

  # PyTorch -> tapegrad: train LeNet-5 briefly in PyTorch and write
  #   tests/data/pytorch_lenet5.safetensors            (its state dict, f32)
  #   tests/data/pytorch_lenet5_reference.safetensors  (8 test images and
  #                                                      PyTorch's logits)
  # tests/pytorch_interop.rs loads the first into tapegrad and compares the
  # logits with the second.
  python3 interop/pytorch_lenet5.py make

  # tapegrad -> PyTorch: a file saved by tapegrad, for example by
  #   cargo run --release --example mnist -- --epochs 1 --save lenet.safetensors
  # loads with load_state_dict(strict=True); prints its test accuracy, which
  # should equal the one tapegrad printed.
  python3 interop/pytorch_lenet5.py check lenet.safetensors
"""

import gzip
import struct
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT / "data" / "mnist"
OUT = ROOT / "tests" / "data"


def lenet5() -> nn.Sequential:
    """The same layers, in the same positions, as nn::models::lenet5."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),  # 0
        nn.ReLU(),  # 1
        nn.MaxPool2d(2, 2),  # 2
        nn.Conv2d(6, 16, 5),  # 3
        nn.ReLU(),  # 4
        nn.MaxPool2d(2, 2),  # 5
        nn.Flatten(),  # 6
        nn.Linear(400, 120),  # 7
        nn.ReLU(),  # 8
        nn.Linear(120, 84),  # 9
        nn.ReLU(),  # 10
        nn.Linear(84, 10),  # 11
    )


def read_idx(name: str) -> torch.Tensor:
    """An IDX file of unsigned bytes (gzip), as a uint8 tensor."""
    data = gzip.open(MNIST / name, "rb").read()
    zero, dtype, dims = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, f"{name}: not an IDX file of bytes"
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    body = bytearray(data[4 + 4 * dims :])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(shape)


def images(name: str) -> torch.Tensor:
    """[n, 1, 28, 28] pixels scaled to [0, 1] as tapegrad scales them."""
    raw = read_idx(name)
    return (raw.to(torch.float32) / 255.0).unsqueeze(1)


def make() -> None:
    torch.manual_seed(0)
    x = images("train-images-idx3-ubyte.gz")[:10000]
    y = read_idx("train-labels-idx1-ubyte.gz")[:10000].long()
    net = lenet5()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for start in range(0, len(x), 64):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(x[start : start + 64]), y[start : start + 64])
        loss.backward()
        opt.step()
    net.eval()
    test = images("t10k-images-idx3-ubyte.gz")
    labels = read_idx("t10k-labels-idx1-ubyte.gz").long()
    with torch.no_grad():
        accuracy = (net(test).argmax(1) == labels).float().mean().item()
        probe = test[:8].contiguous()
        logits = net(probe)
    OUT.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(state, OUT / "pytorch_lenet5.safetensors")
    save_file(
        {"images": probe, "logits": logits.contiguous()},
        OUT / "pytorch_lenet5_reference.safetensors",
    )
    print(f"PyTorch {torch.__version__}: LeNet-5 after one epoch on 10,000 images, "
          f"test accuracy {100 * accuracy:.2f} %")
    print(f"wrote {OUT / 'pytorch_lenet5.safetensors'} and the reference logits")


def check(path: str) -> None:
    net = lenet5()
    net.load_state_dict(load_file(path), strict=True)
    net.eval()
    test = images("t10k-images-idx3-ubyte.gz")
    labels = read_idx("t10k-labels-idx1-ubyte.gz").long()
    with torch.no_grad():
        wrong = (net(test).argmax(1) != labels).sum().item()
    print(f"{path} loaded into PyTorch {torch.__version__} with load_state_dict(strict=True): "
          f"test accuracy {100 * (1 - wrong / len(labels)):.2f} % ({wrong} of {len(labels)} wrong)")


if __name__ == "__main__":
    if len(sys.argv) == 2 and sys.argv[1] == "make":
        make()
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
