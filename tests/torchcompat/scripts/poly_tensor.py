# Fit y = sin(x) with a cubic, gradients written by hand (PyTorch tensors, no autograd).
import math

import torch

dtype = torch.float
device = torch.device("cpu")

x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)

# fixed starting weights, so both libraries start from the same point
a = torch.tensor(0.3, device=device, dtype=dtype)
b = torch.tensor(-0.6, device=device, dtype=dtype)
c = torch.tensor(0.1, device=device, dtype=dtype)
d = torch.tensor(0.05, device=device, dtype=dtype)

lr = 1e-6
for step in range(2000):
    y_hat = a + b * x + c * x**2 + d * x**3
    loss = (y_hat - y).pow(2).sum().item()
    if step % 500 == 499:
        print(step, loss)
    g = 2.0 * (y_hat - y)
    grad_a = g.sum()
    grad_b = (g * x).sum()
    grad_c = (g * x**2).sum()
    grad_d = (g * x**3).sum()
    a -= lr * grad_a
    b -= lr * grad_b
    c -= lr * grad_c
    d -= lr * grad_d

print(f"y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
final_loss = loss
