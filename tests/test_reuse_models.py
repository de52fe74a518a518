import torch

from s5utils import CompactNet


def test_compact_net_fits_the_20k_budget_with_batch_norm_and_dropout():
    model = CompactNet()
    kinds = {type(m).__name__ for m in model.modules()}
    assert sum(p.numel() for p in model.parameters()) == 9_914
    assert {"BatchNorm2d", "Dropout"} <= kinds


def test_compact_net_returns_one_logit_per_class():
    assert CompactNet()(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_dropout_is_active_in_train_mode_and_off_in_eval_mode():
    torch.manual_seed(0)
    model, x = CompactNet(dropout=0.5), torch.randn(4, 1, 28, 28)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    assert not torch.equal(model(x), model(x))
