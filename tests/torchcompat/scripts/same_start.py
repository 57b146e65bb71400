# Shared by the probe scripts: the same starting weights in both libraries, drawn by NumPy.
import numpy as np
import torch


def init_from_numpy(model, seed=1, scale=0.2):
    rng = np.random.default_rng(seed)
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if "running_var" in k:
            new[k] = torch.ones(tuple(v.shape))
        elif "running_mean" in k:
            new[k] = torch.zeros(tuple(v.shape))
        elif "num_batches_tracked" in k:
            new[k] = v
        else:
            new[k] = torch.from_numpy(rng.uniform(-scale, scale, tuple(v.shape)).astype(np.float32))
    model.load_state_dict(new)
