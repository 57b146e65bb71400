"""The thresholds the diagnosis rules compare against, one named constant each.

``docs/diagnose.md`` explains why each value was chosen; a rule reads them from here, never a
bare number.
"""

LOSS_ROSE_FACTOR = 2.0  # the loss ending this many times above its start: the run made it worse
LOSS_ROSE_MIN = 0.1  # ... and by at least this much in absolute terms
LR_HIGH_RATIO = 1e-2  # median |Δw| / |w| per step above this, with a loss that rises/oscillates
LR_HUGE_RATIO = 0.5  # median |Δw| / |w| per step above this: too high whatever the loss does
LR_LOW_RATIO = 1e-5  # |Δw| / |w| per step of every weight layer below this, loss barely moving
LOW_PROGRESS = 0.05  # "barely moves": the loss fell by less than this share of its start
RISE_FROM_BEST = 1.3  # "rises": the last epoch's loss this many times its best epoch's
OSCILLATION_SHARE = 0.4  # "oscillates": at least this share of epoch-to-epoch changes are rises
OSCILLATION_SIZE = 0.05  # ... changes averaging at least this share of the largest loss
GIVE_BACK = 0.25  # a rise from the best must give back this share of the progress made
EXPLODING_NORM = 100.0  # a layer's gradient norm above this
GRADIENT_RATIO = 100.0  # first vs last weight layer's gradient RMS differing by this factor
DEAD_FRACTION = 0.5  # share of a ReLU layer's units that never fire on a batch
SATURATED_FRACTION = 0.4  # share of a sigmoid/tanh layer's outputs in the flat tails
LEARNED = 0.5  # a run whose loss fell by this share has learned (late saturation is fine)
FEATURE_SCALE = 20.0  # a feature whose |mean| or standard deviation exceeds this
TARGET_SCALE = 10.0  # regression targets whose root mean square exceeds this
LEAK_CORRELATION = 0.9999  # |correlation| of a feature with a numeric target
IMBALANCE_SHARE = 0.8  # the majority class's share of the targets
MAJORITY_MARGIN = 0.01  # accuracy within this of the majority share: "at the majority rate"
OVERFIT_RISE = 0.1  # validation loss this share above its best ...
OVERFIT_MIN_RISE = 0.02  # ... and by at least this much
OVERFIT_TRAIN_DROP = 0.1  # while the training loss fell by this share after the best epoch
PLATEAU_PROGRESS = 0.05  # the loss fell by less than this share of its start over the run
MIN_EPOCHS_CURVE = 5  # epochs needed before reading trends (oscillation, overfitting, plateau)
MIN_STEPS_CURVE = 30  # or optimizer steps, for runs with few long epochs
MIN_SAMPLE_ROWS = 20  # rows of data needed for the data checks
