"""Data: datasets, batching, built-in datasets, CSV loading, preprocessing and splitting."""

from chainrule.data import datasets
from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.data.split import train_test_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "datasets", "train_test_split"]
