"""The seed network: 2 inputs -> 1 sigmoid neuron -> 1 sigmoid output, trained with BCE.

The smallest network with a hidden layer, on two clusters of points one line separates.
Run: python examples/seed_example.py
"""

import chainrule as cr
from chainrule import nn, optim

X, y = cr.datasets.seed_example(n=200, seed=0)

cr.manual_seed(0)
hidden = [nn.Linear(2, 1), nn.Sigmoid()]  # a = σ(w·x + b), one neuron
output = [nn.Linear(1, 1), nn.Sigmoid()]  # ŷ = σ(v·a + c), the probability of class 1
model = nn.Sequential(*hidden, *output)
loss_fn = nn.BCELoss()  # E = -[y log ŷ + (1 - y) log(1 - ŷ)]
optimizer = optim.SGD(model.parameters(), lr=0.5)  # w <- w - 0.5 · dE/dw

history = cr.fit(model, (X, y), loss_fn, optimizer, epochs=50, batch_size=10, validation_split=0.25)

for name, value in model.named_parameters():
    print(f"{name:>8} = " + ", ".join(f"{v:+.3f}" for v in value.detach().numpy().ravel()))
losses = history.history["loss"]
print(f"loss: {losses[0]:.4f} -> {losses[-1]:.4f} over {len(losses)} epochs")
print(f"validation accuracy: {100 * history.history['val_accuracy'][-1]:.2f}%")
accuracy = cr.evaluate(model, (X, y), loss_fn)["accuracy"]
print(f"accuracy: {100 * accuracy:.2f}%")
