"""XOR: the problem one neuron cannot solve, solved by a 2-4-1 network.

Run: python examples/xor.py
"""

import chainrule as cr
from chainrule import nn, optim

X, y = cr.datasets.xor()  # the four corners of the unit square, label = x0 XOR x1

cr.manual_seed(0)
model = nn.Sequential(
    nn.Linear(2, 4),  # 2 inputs -> 4 hidden neurons
    nn.Tanh(),
    nn.Linear(4, 1),  # -> 1 output: a logit, the log-odds of class 1
)
loss_fn = nn.BCEWithLogitsLoss()  # sigmoid + binary cross-entropy, computed stably
optimizer = optim.Adam(model.parameters(), lr=0.05)

history = cr.fit(model, (X, y), loss_fn, optimizer, epochs=300, batch_size=4, verbose=False)

probabilities = cr.sigmoid(cr.tensor(cr.predict(model, X))).numpy()  # logits -> P(class 1)
for (a, b), target, p in zip(X, y, probabilities[:, 0]):
    print(f"{int(a)} XOR {int(b)} = {target}   model: P(1) = {p:.3f}")
print(f"loss: {history.history['loss'][0]:.4f} -> {history.history['loss'][-1]:.4f}")
accuracy = cr.evaluate(model, (X, y), loss_fn)["accuracy"]
print(f"accuracy: {100 * accuracy:.2f}%")
