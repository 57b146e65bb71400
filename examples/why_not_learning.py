"""Why isn't it learning? A deep sigmoid network, diagnosed, then fixed.

Eight sigmoid layers on the moons data barely learn: every sigmoid multiplies the gradient by
σ'(z) ≤ 0.25 on its way back. The recorder says so with the numbers and writes the chain rule
out along one path; the same network with tanh (whose slope reaches 1) learns, and the
diagnosis comes back clean.

Run: python examples/why_not_learning.py
"""

import chainrule as cr
from chainrule import nn, optim


def network(activation):
    layers, width = [], 2
    for _ in range(8):
        layers += [nn.Linear(width, 16), activation()]
        width = 16
    return nn.Sequential(*layers, nn.Linear(16, 1))


def train(activation, lr):
    cr.manual_seed(0)
    X, y = cr.datasets.moons(n=400, noise=0.15, seed=0)
    model = network(activation)
    history = cr.fit(
        model,
        (X, y),
        nn.BCEWithLogitsLoss(),
        optim.SGD(model.parameters(), lr=lr, momentum=0.9),
        epochs=40,
        batch_size=32,
        callbacks=[cr.diagnose.Recorder()],
        verbose=False,
        seed=0,
    )
    return history


broken = train(nn.Sigmoid, lr=0.1)
print(f"sigmoid: accuracy {broken.history['accuracy'][-1]:.1%}")
print(cr.diagnose.summary(broken.findings))
print()
fixed = train(nn.Tanh, lr=0.05)
print(f"tanh: accuracy {fixed.history['accuracy'][-1]:.1%}")
print(cr.diagnose.summary(fixed.findings))
