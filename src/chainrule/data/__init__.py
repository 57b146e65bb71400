"""Data: datasets, batching, built-in datasets, CSV files, image folders, preprocessing and
splitting."""

from chainrule.data import datasets
from chainrule.data.csv import CSVData, load_csv, read_table
from chainrule.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset
from chainrule.data.loader import DataLoader
from chainrule.data.preprocessing import Preprocessor
from chainrule.data.split import train_test_split

# isort: split
from chainrule.data import transforms
from chainrule.data.idx import load_idx, save_idx
from chainrule.data.image_folder import ImageFolderData, load_image, load_image_folder
from chainrule.data.image_preprocessing import ImagePreprocessor

__all__ = [
    "CSVData",
    "DataLoader",
    "ImageFolderData",
    "ImagePreprocessor",
    "ConcatDataset",
    "Dataset",
    "Preprocessor",
    "Subset",
    "TensorDataset",
    "datasets",
    "load_csv",
    "load_image",
    "load_image_folder",
    "read_table",
    "train_test_split",
    "load_idx",
    "save_idx",
    "transforms",
]
