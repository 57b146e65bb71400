"""Handwritten digits (8×8 pixels, 1,797 images, 10 classes) with a 64-64-10 MLP.

Run: python examples/digits.py   (writes digits_confusion.png)
"""

import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split

X, y = cr.datasets.digits()  # X: (1797, 64) pixel intensities 0..16, y: the digit
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
mean, std = X_train.mean(axis=0), X_train.std(axis=0) + 1e-8  # from the training images only
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

cr.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))  # 10 logits
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=3e-3)

started = time.perf_counter()
history = cr.fit(
    model, (X_train, y_train), loss_fn, optimizer, epochs=30, validation_data=(X_test, y_test)
)
seconds = time.perf_counter() - started

predicted = cr.predict(model, X_test).argmax(axis=1)
cm = cr.metrics.confusion_matrix(y_test, predicted, num_classes=10)
cr.plot.confusion_matrix(cm, list(range(10)), "digits_confusion.png")
print(f"trained {len(history)} epochs in {seconds:.1f} s; confusion matrix: digits_confusion.png")
print(f"macro F1: {cr.metrics.f1(y_test, predicted, average='macro'):.4f}")
print(f"test accuracy: {100 * cr.metrics.accuracy(y_test, predicted):.2f}%")
