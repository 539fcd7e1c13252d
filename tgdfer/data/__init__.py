"""Data layer: official dataset layouts, frame sampling, decoding, the clip Dataset, `prepare`."""
from .dataset import ClipDataset
from .decode import ClipReader, count_frames
from .errors import DataError
from .layouts import (DATASETS, folds_of, list_frames, load_split, natural_key, read_annotation,
                      read_csv_table, write_annotation)
from .prepare import prepare
from .sampling import segment_indices
from .transforms import ClipTransform

__all__ = ["ClipDataset", "ClipReader", "ClipTransform", "DataError", "DATASETS", "count_frames", "folds_of",
           "list_frames", "load_split", "natural_key", "prepare", "read_annotation", "read_csv_table",
           "segment_indices", "write_annotation"]
