# "Quickstart" with a custom Dataset class (FashionMNIST-shaped, synthetic), shuffled
# DataLoader seeded with a Generator, the tutorial's print formats, save/load of the state_dict.
import os
import tempfile

import numpy as np
import torch
from same_start import init_from_numpy
from torch import nn
from torch.utils.data import DataLoader, Dataset


class FakeFashion(Dataset):
    def __init__(self, n, seed, transform=None, target_transform=None):
        rng = np.random.default_rng(seed)
        protos = np.random.default_rng(42).uniform(0, 1, (10, 28, 28))
        self.labels = rng.integers(0, 10, n)
        self.images = np.clip(protos[self.labels] + rng.normal(0, 0.4, (n, 28, 28)), 0, 1)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        image = torch.tensor(self.images[idx], dtype=torch.float32).unsqueeze(0)
        label = int(self.labels[idx])
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


training_data = FakeFashion(320, 0)
test_data = FakeFashion(128, 1)
img, label = training_data[0]
print(img.shape, img.dtype, label, len(training_data))
g = torch.Generator()
g.manual_seed(0)
train_dataloader = DataLoader(training_data, batch_size=64, shuffle=False)
test_dataloader = DataLoader(test_data, batch_size=64)
for X, y in test_dataloader:
    print(f"Shape of X [N, C, H, W]: {X.shape}")
    print(f"Shape of y: {y.shape} {y.dtype}")
    break
print(len(train_dataloader), len(test_dataloader), len(train_dataloader.dataset))
train_features, train_labels = next(iter(train_dataloader))
print(f"Feature batch shape: {train_features.size()}")
print(f"Labels batch shape: {train_labels.size()}")
print(train_features[0].squeeze().shape, train_labels[0])
# a shuffled loader seeded twice gives the same order (within a library)
o1 = [
    y.tolist()
    for _, y in DataLoader(
        test_data, batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
]
o2 = [
    y.tolist()
    for _, y in DataLoader(
        test_data, batch_size=50, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
]
print("shuffle reproducible", o1 == o2, sorted(sum(o1, [])) == sorted(test_data.labels.tolist()))

device = "cpu"


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
init_from_numpy(model, scale=0.05)
print(model)
X = torch.rand(1, 28, 28, device=device)
logits = model(X)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
print(y_pred.shape, y_pred.dtype, pred_probab.shape)
for name, param in model.named_parameters():
    print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2].shape} \n")
input_image = torch.rand(3, 28, 28)
flat_image = nn.Flatten()(input_image)
print(flat_image.size())
hidden1 = nn.ReLU()(nn.Linear(28 * 28, 20)(flat_image))
print(hidden1.size())

loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-1)


def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 3 == 0:
            loss, current = loss.item(), (batch + 1) * len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss


for t in range(2):
    print(f"Epoch {t + 1}\n-------------------------------")
    train(train_dataloader, model, loss_fn, optimizer)
    final_loss = test(test_dataloader, model, loss_fn)
path = os.path.join(tempfile.mkdtemp(), "model.pth")
torch.save(model.state_dict(), path)
model2 = NeuralNetwork().to(device)
print(model2.load_state_dict(torch.load(path, weights_only=True)))
model2.eval()
x, y = test_data[0][0], test_data[0][1]
with torch.no_grad():
    x = x.to(device)
    pred = model2(x)
    print(pred.shape, pred[0].argmax(0), y)
