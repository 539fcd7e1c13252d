"""tgdfer: a reproducible implementation of TG-DFER (text-guided weakly supervised DFER)."""
import warnings

__version__ = "0.1.0"

# open_clip's dependencies import tqdm.auto, which warns in notebooks without ipywidgets; tgdfer uses plain tqdm
warnings.filterwarnings("ignore", message="IProgress not found")
