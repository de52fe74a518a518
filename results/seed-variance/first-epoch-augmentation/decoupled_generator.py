import torch

from s5utils.data.tensor_loader import make_tensor_loaders
from s5utils.device import set_seed
from s5utils.models import Net
from s5utils.training.loop import evaluate, train_one_epoch

for seed in range(1, 7):
    set_seed(seed)
    tr, te = make_tensor_loaders("/tmp/w/d1", 512, "cpu", seed=seed + 10_000, channels_last=True)
    m = Net().to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    r = train_one_epoch(m, tr, opt, torch.device("cpu"), progress=False, amp_dtype=torch.bfloat16, channels_last=True)
    e = evaluate(m, te, torch.device("cpu"), amp_dtype=torch.bfloat16, channels_last=True)
    print(seed, "batched, loader generator seeded seed+10000:", round(r["train_acc"], 2), e["test_acc"], flush=True)
