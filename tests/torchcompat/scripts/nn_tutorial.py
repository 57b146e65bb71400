# The "Neural Networks" beginner tutorial, its fully connected part: define a net, look at its
# parameters, backpropagate, follow grad_fn, update by hand, then with torch.optim.
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32 * 32, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)  # every dimension but the batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


net = Net()
print(net)
rng = np.random.default_rng(0)
net.load_state_dict(
    {
        name: torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32))
        for name, p in net.state_dict().items()
    }
)
params = list(net.parameters())
print(len(params), params[0].size())

input = torch.from_numpy(rng.standard_normal((1, 1, 32, 32)).astype(np.float32))
out = net(input)
print(out)
net.zero_grad()
out.backward(torch.from_numpy(rng.standard_normal((1, 10)).astype(np.float32)))

output = net(input)
target = torch.from_numpy(rng.standard_normal(10).astype(np.float32)).view(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
print(loss)
print(loss.grad_fn)
print(loss.grad_fn.next_functions[0][0])

net.zero_grad()
print("fc1.bias.grad before backward", net.fc1.bias.grad)
loss.backward()
print("fc1.bias.grad after backward", net.fc1.bias.grad[:3])

learning_rate = 0.01
for f in net.parameters():
    f.data.sub_(f.grad.data * learning_rate)

optimizer = optim.SGD(net.parameters(), lr=0.01)
for _ in range(5):
    optimizer.zero_grad()
    output = net(input)
    loss = criterion(output, target)
    loss.backward()
    optimizer.step()
final_loss = criterion(net(input), target).item()
print(final_loss)
