# The cubic fit with torch.nn: features (x, x^2, x^3), a Linear layer, a hand-written SGD step.
import math

import numpy as np
import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():  # the same start in both libraries
    model[0].weight.copy_(torch.from_numpy(np.array([[0.2, -0.1, 0.05]], dtype=np.float32)))
    model[0].bias.fill_(0.1)
loss_fn = torch.nn.MSELoss(reduction="sum")

lr = 1e-6
for step in range(2000):
    y_hat = model(xx)
    loss = loss_fn(y_hat, y)
    if step % 500 == 499:
        print(step, loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= lr * param.grad

layer = model[0]
print(
    f"y = {layer.bias.item()} + {layer.weight[:, 0].item()} x + "
    f"{layer.weight[:, 1].item()} x^2 + {layer.weight[:, 2].item()} x^3"
)
final_loss = loss.item()
