# A polynomial of random order 3 to 5 on each forward pass, the order-4 weight reused for x^5:
# control flow and weight sharing in a dynamic graph. SGD with momentum.
import math
import random

import torch


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        start = [0.3, -0.6, 0.1, 0.05, -0.01]
        self.a, self.b, self.c, self.d, self.e = (
            torch.nn.Parameter(torch.tensor(v)) for v in start
        )

    def forward(self, x):
        y = self.a + self.b * x + self.c * x**2 + self.d * x**3
        for power in range(4, random.randint(4, 6)):
            y = y + self.e * x**power
        return y


random.seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
model = DynamicNet()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-8, momentum=0.9)
for step in range(3000):
    loss = criterion(model(x), y)
    if step % 1000 == 999:
        print(step, loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# the loss of the order-5 polynomial at the final weights (no random order in the comparison)
with torch.no_grad():
    full = model.a + model.b * x + model.c * x**2 + model.d * x**3
    full = full + model.e * x**4 + model.e * x**5
    final_loss = criterion(full, y).item()
print(final_loss)
