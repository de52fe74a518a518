"""Training: the state that owns a run, the loop, recipes, precision and speed per device, checkpoints.

    state        TrainingState: model, optimizer, schedule, loss and what a checkpoint of them holds
    loop         train_one_epoch, evaluate and fit over the epochs of a TrainingState
    recipes      optimizer, schedules, loss and test-time prediction per recipe
    schedules    One Cycle peaking at a chosen epoch (the S10 recipe)
    precision    which autocast dtype a device runs fast, and why (amp="auto")
    speed        data path, autocast, channels_last and torch.compile resolved for a device
    checkpoint   everything a run needs to continue bit for bit

Imports the top-level basics and s5utils.data, nothing above.
"""
