# The cubic as a custom nn.Module with four scalar Parameters, trained with optim.SGD.
import math

import torch


class Cubic(torch.nn.Module):
    def __init__(self, start):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(start[0]))
        self.b = torch.nn.Parameter(torch.tensor(start[1]))
        self.c = torch.nn.Parameter(torch.tensor(start[2]))
        self.d = torch.nn.Parameter(torch.tensor(start[3]))

    def forward(self, x):
        return self.a + self.b * x + self.c * x**2 + self.d * x**3

    def string(self):
        return (
            f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + {self.d.item()} x^3"
        )


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = Cubic([0.3, -0.6, 0.1, 0.05])
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
for step in range(2000):
    loss = criterion(model(x), y)
    if step % 500 == 499:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(model.string())
final_loss = loss.item()
