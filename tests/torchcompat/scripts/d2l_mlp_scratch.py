# d2l: multilayer perceptron from scratch (parameters by hand, ReLU via torch.max, optim.SGD).
import numpy as np
import torch
from d2l_lite import evaluate_loss, load_data_images, train_ch3
from torch import nn

batch_size = 64
train_iter, test_iter = load_data_images(batch_size)
num_inputs, num_outputs, num_hiddens = 64, 10, 32

rng = np.random.default_rng(1)  # the same starting weights in both libraries


def randn(*shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


W1 = nn.Parameter(randn(num_inputs, num_hiddens) * 0.01)
b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
W2 = nn.Parameter(randn(num_hiddens, num_outputs) * 0.01)
b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
params = [W1, b1, W2, b2]


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


def net(X):
    X = X.reshape((-1, num_inputs))
    H = relu(X @ W1 + b1)
    return H @ W2 + b2


loss = nn.CrossEntropyLoss(reduction="none")
num_epochs, lr = 10, 0.1
updater = torch.optim.SGD(params, lr=lr)
train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)
final_loss = evaluate_loss(net, train_iter, loss)
print(final_loss)
