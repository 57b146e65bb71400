# y = a + b * P3(c + d x), P3 the Legendre polynomial of degree 3, as a custom autograd Function.
import math

import torch


class Legendre3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x**2 - 1)


dtype = torch.float
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, dtype=dtype, requires_grad=True)

lr = 5e-6
for step in range(2000):
    P3 = Legendre3.apply
    y_hat = a + b * P3(c + d * x)
    loss = (y_hat - y).pow(2).sum()
    if step % 500 == 499:
        print(step, loss.item())
    loss.backward()
    with torch.no_grad():
        for w in (a, b, c, d):
            w -= lr * w.grad
            w.grad = None

print(f"y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
final_loss = loss.item()
