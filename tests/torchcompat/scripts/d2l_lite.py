# The d2l.ai helper functions the linear-regression, softmax and MLP chapters call, written
# in plain PyTorch API (our own code, after the book's function-style chapters). Data are
# generated with NumPy so that both libraries see the same numbers.
import numpy as np
import torch
from torch.utils import data


def synthetic_data(w, b, num_examples, seed=0):
    """y = Xw + b + noise, X standard normal, noise with std 0.01."""
    rng = np.random.default_rng(seed)
    X = torch.from_numpy(rng.normal(0, 1, (num_examples, len(w))).astype(np.float32))
    y = torch.matmul(X, w) + b
    y += torch.from_numpy(rng.normal(0, 0.01, tuple(y.shape)).astype(np.float32))
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def load_data_images(batch_size, n_train=1200, n_test=300, side=8, seed=0):
    """Small stand-in for Fashion-MNIST: 10 classes of side x side one-channel images.

    Unlike d2l, the training batches come in a fixed order: two libraries' shuffles differ,
    and with them the final loss (by 2-3% here), which would hide the comparison."""
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(0, 1, (10, side * side))

    def make(n):
        labels = rng.integers(0, 10, n)
        images = prototypes[labels] + rng.normal(0, 4.0, (n, side * side))
        images = images.reshape(n, 1, side, side).astype(np.float32)
        return data.TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))

    train, test = make(n_train), make(n_test)
    return (
        data.DataLoader(train, batch_size, shuffle=False, num_workers=0),
        data.DataLoader(test, batch_size, shuffle=False, num_workers=0),
    )


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent, updating in place."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


class Accumulator:
    """Running sums over n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """Number of correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def evaluate_loss(net, data_iter, loss):
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            l = loss(net(X), y)
            metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum().detach()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        print(
            f"epoch {epoch + 1}: loss {train_loss:.4f}, train acc {train_acc:.3f}, "
            f"test acc {test_acc:.3f}"
        )
    return train_loss
