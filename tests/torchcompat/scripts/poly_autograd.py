# The cubic fit of sin(x) with autograd computing the gradients; updates in place.
import math

import torch

dtype = torch.float
device = "cpu"

x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype, device=device)
y = torch.sin(x)

a = torch.tensor(0.3, dtype=dtype, requires_grad=True)
b = torch.tensor(-0.6, dtype=dtype, requires_grad=True)
c = torch.tensor(0.1, dtype=dtype, requires_grad=True)
d = torch.tensor(0.05, dtype=dtype, requires_grad=True)

lr = 1e-6
for step in range(2000):
    y_hat = a + b * x + c * x**2 + d * x**3
    loss = (y_hat - y).pow(2).sum()
    if step % 500 == 499:
        print(step, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= lr * a.grad
        b -= lr * b.grad
        c -= lr * c.grad
        d -= lr * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
final_loss = loss.item()
