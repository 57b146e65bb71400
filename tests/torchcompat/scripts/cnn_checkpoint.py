# A CNN classifier ("Training a classifier" style) with BatchNorm, Dropout, train/eval, a
# StepLR schedule, gradient clipping, checkpoint save/load and resume.
import os
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from same_start import init_from_numpy
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
protos = rng.normal(0, 1, (10, 1, 12, 12))
labels = rng.integers(0, 10, 256)
images = (protos[labels] + rng.normal(0, 1.5, (256, 1, 12, 12))).astype(np.float32)
ds = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
loader = DataLoader(ds, batch_size=32, shuffle=False)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, 3)
        self.dropout = nn.Dropout(0.0)
        self.fc1 = nn.Linear(8 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


net = Net()
init_from_numpy(net)
print(net)
print(
    sum(p.numel() for p in net.parameters()),
    sum(p.numel() for p in net.parameters() if p.requires_grad),
)
for name, p in net.named_parameters():
    print(name, tuple(p.shape), p.dtype)
print(list(net.state_dict().keys()))
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
for epoch in range(3):
    net.train()
    running_loss = 0.0
    for i, (inputs, targets) in enumerate(loader):
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, targets)
        loss.backward()
        total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        optimizer.step()
        running_loss += loss.item()
        if i % 4 == 3:
            print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 4:.4f} norm {float(total):.4f}")
            running_loss = 0.0
    scheduler.step()
    print("lr", scheduler.get_last_lr(), optimizer.param_groups[0]["lr"])
net.eval()
correct = 0
with torch.no_grad():
    for inputs, targets in loader:
        outputs = net(inputs)
        _, predicted = torch.max(outputs.data, 1)
        correct += (predicted == targets).sum().item()
print(f"Accuracy: {100 * correct // len(ds)} %", correct)
print(net.bn1.running_mean.numpy().round(4), net.bn1.num_batches_tracked)
print(net.training, net.bn1.training)
path = os.path.join(tempfile.mkdtemp(), "ckpt.pt")
torch.save(
    {
        "epoch": 3,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "loss": loss,
    },
    path,
)
ckpt = torch.load(path, weights_only=False)
net2 = Net()
net2.load_state_dict(ckpt["model_state_dict"])
opt2 = optim.SGD(net2.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
opt2.load_state_dict(ckpt["optimizer_state_dict"])
sch2 = optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
sch2.load_state_dict(ckpt["scheduler"])
print(ckpt["epoch"], type(ckpt["loss"]).__name__, round(float(ckpt["loss"]), 4))
print(opt2.param_groups[0]["lr"], sch2.get_last_lr(), sch2.last_epoch)
net2.train()
for inputs, targets in loader:
    opt2.zero_grad()
    loss = criterion(net2(inputs), targets)
    loss.backward()
    opt2.step()
print("resumed loss", round(loss.item(), 4))
net2.eval()
with torch.no_grad():
    out = net2(torch.from_numpy(images[:4]))
print(out.argmax(dim=1), F.softmax(out, dim=1).sum(1))
final_loss = loss.item()
