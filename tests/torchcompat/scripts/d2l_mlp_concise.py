# d2l: multilayer perceptron, concise (nn.Sequential, nn.init.normal_ through net.apply).
import numpy as np
import torch
from d2l_lite import evaluate_loss, load_data_images, train_ch3
from torch import nn

torch.manual_seed(0)
net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


rng = np.random.default_rng(1)


def init_weights(m):
    if type(m) == nn.Linear:  # noqa: E721 - the book's spelling
        nn.init.normal_(m.weight, std=0.01)
        # then the same numbers in both libraries (their random streams differ)
        with torch.no_grad():
            m.weight.copy_(torch.from_numpy(rng.normal(0, 0.01, tuple(m.weight.shape))))
            m.bias.zero_()


net.apply(init_weights)
batch_size, lr, num_epochs = 64, 0.1, 10
loss = nn.CrossEntropyLoss(reduction="none")
trainer = torch.optim.SGD(net.parameters(), lr=lr)
train_iter, test_iter = load_data_images(batch_size)
train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)
final_loss = evaluate_loss(net, train_iter, loss)
print(final_loss)
