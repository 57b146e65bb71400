"""A small CNN on the 8×8 handwritten digits (1,797 images, 10 classes), kept as images.

Run: OPENBLAS_NUM_THREADS=1 python examples/cnn_digits.py    (about 35 s on one busy core)
"""

import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split, transforms

X, y = cr.datasets.digits(images=True)  # X: (1797, 1, 8, 8) intensities 0..16, y: the digit
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
mean, std = X_train.mean(), X_train.std()  # one channel: one mean, from the training images
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
# every epoch sees each digit shifted by up to one pixel (pad 1, crop 8 × 8 at random)
train = transforms.TransformDataset(X_train, y_train, transforms.RandomCrop(8, padding=1))

cr.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),   # 32 × 8 × 8
    nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),  # 64 × 8 × 8
    nn.MaxPool2d(2), nn.Flatten(),                                   # 64 × 4 × 4 → 1024
    nn.Dropout(0.3), nn.Linear(64 * 4 * 4, 10),
)  # fmt: skip
optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-3)
schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=25)
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

started = time.perf_counter()
history = cr.fit(model, train, loss_fn, optimizer, epochs=25, scheduler=schedule, verbose=0)
seconds = time.perf_counter() - started

predicted = cr.predict(model, X_test).argmax(axis=1)
print(f"trained {len(history)} epochs in {seconds:.1f} s")
print(f"test accuracy: {100 * cr.metrics.accuracy(y_test, predicted):.2f}%")
