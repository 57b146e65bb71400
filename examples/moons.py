"""Two interleaving half-moons: a curved class border learned by a small MLP.

Run: python examples/moons.py   (writes moons_boundary.png and moons_curves.png)
"""

import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split

X, y = cr.datasets.moons(n=500, noise=0.2, seed=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)

cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
loss_fn = nn.BCEWithLogitsLoss()  # the model outputs one logit: class 1 when it is > 0
optimizer = optim.Adam(model.parameters(), lr=0.01)

started = time.perf_counter()
history = cr.fit(
    model, (X_train, y_train), loss_fn, optimizer, epochs=100, batch_size=32, verbose=False
)
seconds = time.perf_counter() - started

cr.plot.decision_boundary(model, X, y, "moons_boundary.png")
history.plot("moons_curves.png")
print(f"trained {len(history)} epochs in {seconds:.1f} s")
print("plots: moons_boundary.png, moons_curves.png")
print(f"train accuracy: {100 * history.history['accuracy'][-1]:.2f}%")
accuracy = cr.evaluate(model, (X_test, y_test), loss_fn)["accuracy"]
print(f"test accuracy: {100 * accuracy:.2f}%")
