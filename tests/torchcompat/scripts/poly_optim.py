# The cubic fit with an optimizer from torch.optim (RMSprop) doing the updates.
import math

import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
xx = x.unsqueeze(-1).pow(torch.tensor([1, 2, 3]))

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
start = np.array([0.2, -0.1, 0.05, 0.1], dtype=np.float32)
model[0].weight.data = torch.from_numpy(start[:3].reshape(1, 3).copy())
model[0].bias.data = torch.from_numpy(start[3:].copy())
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)

for step in range(2000):
    loss = loss_fn(model(xx), y)
    if step % 500 == 499:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

w = model[0].weight
print(
    f"y = {model[0].bias.item()} + {w[:, 0].item()} x + {w[:, 1].item()} x^2 + {w[:, 2].item()} x^3"
)
final_loss = loss.item()
