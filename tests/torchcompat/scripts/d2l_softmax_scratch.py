# d2l: softmax regression from scratch (softmax, cross-entropy by fancy indexing, accuracy).
import torch
from d2l_lite import load_data_images, sgd, train_ch3

torch.manual_seed(0)
batch_size = 64
train_iter, test_iter = load_data_images(batch_size)

num_inputs, num_outputs = 64, 10
W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


X = torch.normal(0, 1, (2, 5))
X_prob = softmax(X)
print(X_prob, X_prob.sum(1))

lr = 0.1


def updater(batch_size):
    return sgd([W, b], lr, batch_size)


train_ch3(net, train_iter, test_iter, cross_entropy, 10, updater)
with torch.no_grad():
    final_loss = float(torch.cat([cross_entropy(net(X), y) for X, y in train_iter]).mean())
print(final_loss)
