"""Which part of the kit's use of torch.compile(mode="reduce-overhead") breaks CUDA graphs; ms per train step."""

import sys
import time
import traceback

import torch
import torch.nn.functional as F

from s5utils.models import Net

case = sys.argv[1]
amp, cl, ev, mark = "amp" in case, "cl" in case, "eval" in case, "mark" in case
sizes = [512, 96] if "sizes" in case else [512]
torch.manual_seed(0)
m = Net().cuda()
if cl:
    m = m.to(memory_format=torch.channels_last)
c = m if "eager" in case else torch.compile(m, mode="reduce-overhead")
opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
data = {n: torch.randn(n, 1, 28, 28, device="cuda") for n in sizes}
if cl:
    data = {n: x.contiguous(memory_format=torch.channels_last) for n, x in data.items()}
labels = {n: torch.randint(0, 10, (n,), device="cuda") for n in sizes}


def step(n):
    if mark:
        torch.compiler.cudagraph_mark_step_begin()
    c.train()
    with torch.autocast("cuda", torch.bfloat16, enabled=amp):
        out = c(data[n])
    loss = F.cross_entropy(out.float(), labels[n])
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss


try:
    t0 = time.perf_counter()
    for _ in range(5):
        for n in sizes:
            step(n)
            if ev:
                c.eval()
                if mark:
                    torch.compiler.cudagraph_mark_step_begin()
                with torch.no_grad(), torch.autocast("cuda", torch.bfloat16, enabled=amp):
                    c(data[n]).argmax(1).sum().item()
    torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(100):
        step(512)
    torch.cuda.synchronize()
    print(f"{case}: OK, warm-up {warm:.1f} s, {(time.perf_counter() - t0) * 10:.2f} ms per train step (batch 512)")
except Exception as exc:
    print(f"{case}: FAILED {type(exc).__name__}: {str(exc)[:160]}")
    traceback.print_exc(file=open(f"/tmp/{case}.err", "w"))
