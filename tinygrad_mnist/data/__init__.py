"""The data layer: arrays in, arrays out.

Readers for Kaggle's CSV files and the original IDX files, a checked downloader,
the choice of where data comes from, train/dev splits and input transforms. Every
problem with input data raises ``DataError`` with one message naming the file, row
and column. Readers return batch-first arrays as stored (uint8 images, int64 labels);
converting to floats is an explicit step (``scale_pixels``).
"""

from .download import DATASETS, default_cache_dir, download, fetch, sha256_of
from .errors import DataError
from .files import read_bytes
from .idx import idx_split_files, load_idx, load_idx_folder, load_idx_images, load_idx_labels, read_idx
from .kaggle import load_kaggle_csv, load_kaggle_test, load_kaggle_train, write_kaggle_submission
from .loader import DataLoader
from .source import DataSource, data_files, find_data
from .splits import Split, random_dev_split, sequential_split
from .summary import compare_summaries, summarise
from .transforms import PIXEL_SCALINGS, as_image_batch, one_hot, scale_pixels

__all__ = [
    "DATASETS",
    "PIXEL_SCALINGS",
    "DataError",
    "DataLoader",
    "DataSource",
    "Split",
    "as_image_batch",
    "compare_summaries",
    "data_files",
    "default_cache_dir",
    "download",
    "fetch",
    "find_data",
    "idx_split_files",
    "load_idx",
    "load_idx_folder",
    "load_idx_images",
    "load_idx_labels",
    "load_kaggle_csv",
    "load_kaggle_test",
    "load_kaggle_train",
    "one_hot",
    "random_dev_split",
    "read_bytes",
    "read_idx",
    "scale_pixels",
    "sequential_split",
    "sha256_of",
    "summarise",
    "write_kaggle_submission",
]
