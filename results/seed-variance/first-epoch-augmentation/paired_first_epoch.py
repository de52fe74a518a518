"""First epoch of the seed recipe on the tensor path: batched vs PIL augmentation, same init and batches.

Scratch code, kept as it ran (only this docstring corrected): python paired_first_epoch.py 10 (stopped after 6 seeds).
"""

import statistics
import sys

import torch
import torch.nn.functional as F
from PIL import Image

from s5utils.data.batch_augment import seed_augment
from s5utils.data.mnist import train_transforms
from s5utils.data.tensor_loader import make_tensor_loaders
from s5utils.device import set_seed
from s5utils.models import Net

tf = train_transforms()


def pil_aug(x, g):
    return torch.stack([tf(Image.fromarray(im[0].numpy(), "L")) for im in x])


B = 10**9


def run(seed, aug):
    set_seed(seed)
    tr, _ = make_tensor_loaders("/tmp/w/d1", 512, "cpu", seed=seed, channels_last=True, augment=aug)
    m = Net().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    losses, correct, seen = [], 0, 0
    for i, (x, y) in enumerate(tr):
        if i == B:
            break
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = m(x)
        loss = F.cross_entropy(out.float(), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if False:
            correct += (out.argmax(1) == y).sum().item()
            seen += len(y)
    m.eval()
    ok = 0
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for x, y in _:
            ok += (m(x).argmax(1) == y).sum().item()
    return statistics.mean(losses[-10:]), ok / 100


res = {"batched": [], "pil": []}
for seed in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1, int(sys.argv[1]) + 1):  # [last seed] [first seed]
    for name, aug in (("batched", seed_augment), ("pil", pil_aug)):
        loss, a = run(seed, aug)
        res[name].append((loss, a))
        print(seed, name, f"last-10-batch loss {loss:.3f} epoch-1 test acc {a:.2f}", flush=True)
for name, r in res.items():
    print(
        name,
        "median loss",
        round(statistics.median(x[0] for x in r), 3),
        "median acc",
        round(statistics.median(x[1] for x in r), 1),
    )
