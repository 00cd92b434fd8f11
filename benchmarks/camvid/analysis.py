"""Analysis of the CamVid results: seeds of a model together, the rows of each table, and
the class weights of the train split."""
import glob
import os.path as osp
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .models import CLASSES, MODELS

# Rows of the ablation table besides the variants: the paper's own head ablation.
HEAD_VARIANTS = {'lrnnet-a': 'head without SVN block (Model A)',
                 'lrnnet-b': 'SVN with the 8x8 grid only (Model B)'}


def enet_class_weights(data_root: str) -> Tuple[List[int], List[float]]:
    """ENet's class weights ``1 / ln(1.02 + p)`` from the pixel frequencies ``p`` of the
    classes in ``<data_root>/trainannot`` (void excluded): (pixel counts, weights rounded to
    3 places). FileNotFoundError without label maps."""
    import cv2
    import numpy as np
    files = sorted(glob.glob(osp.join(data_root, 'trainannot', '*.png')))
    if not files:
        raise FileNotFoundError(f'no label maps in {osp.join(data_root, "trainannot")}')
    counts = np.zeros(len(CLASSES), np.int64)
    for path in files:
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        counts += np.bincount(label.ravel(), minlength=256)[:len(CLASSES)]
    freq = counts / counts.sum()
    return counts.tolist(), [round(float(w), 3) for w in 1 / np.log(1.02 + freq)]


def mean_of(values: Sequence[Optional[float]]) -> Optional[float]:
    """Mean of the values that are not None (None when none is)."""
    present = [v for v in values if v is not None]
    return statistics.mean(present) if present else None


@dataclass
class Aggregate:
    """The runs (seeds) of one model, summarised."""
    model: str
    runs: List[dict] = field(default_factory=list)

    @property
    def first(self) -> dict:
        return self.runs[0]

    @property
    def mious(self) -> List[float]:
        return [r['val']['mIoU'] for r in self.runs]

    @property
    def miou(self) -> float:
        return statistics.mean(self.mious)

    def class_iou(self, name: str) -> Optional[float]:
        """Mean IoU of class ``name`` over the seeds that have one."""
        return mean_of([r['val']['IoU'][name] for r in self.runs])

    @property
    def cpu_ms(self) -> float:
        return statistics.median(r['latency']['cpu_ms'] for r in self.runs)

    def miou_text(self) -> str:
        """``'56.3'`` for one seed, ``'56.3 ± 1.2 (2 seeds)'`` (± half the range) for more."""
        if len(self.runs) == 1:
            return f'{self.miou:.1f}'
        spread = (max(self.mious) - min(self.mious)) / 2
        return f'{self.miou:.1f} ± {spread:.1f} ({len(self.runs)} seeds)'


def aggregate(results: List[dict]) -> Dict[str, Aggregate]:
    """Results grouped by model, seeds in order."""
    groups: Dict[str, Aggregate] = {}
    for result in sorted(results, key=lambda r: r['seed']):
        groups.setdefault(result['model'], Aggregate(result['model'])).runs.append(result)
    return groups


def in_benchmark_table(result: dict) -> bool:
    """A row of the benchmark table: a benchmark model, or a variant marked for it."""
    model = MODELS.get(result['model'])
    return not result['variant_of'] or (model is not None and model.in_benchmark)


def benchmark_groups(groups: Dict[str, Aggregate]) -> Dict[str, Aggregate]:
    """The rows of the benchmark table."""
    return {n: g for n, g in groups.items() if in_benchmark_table(g.first)}


def ablation_groups(groups: Dict[str, Aggregate]) -> Dict[str, Aggregate]:
    """The rows of the ablation table: Model C, the variants and Models A and B."""
    return {n: g for n, g in groups.items()
            if g.first['variant_of'] or n == 'lrnnet-c' or n in HEAD_VARIANTS}


def order(names) -> List[str]:
    """Model names in the order of :data:`MODELS` (unknown ones last, by name)."""
    known = list(MODELS)
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


def described(result: dict, key: str) -> str:
    """A result's model ``title`` or ``change`` as the code names it now (the archived
    text for a model no longer defined), so renaming a model renames its archived runs."""
    model = MODELS.get(result['model'])
    return getattr(model, key) if model is not None else result[key]


def final_training_loss(result: dict, last: int = 10) -> Optional[float]:
    """Mean of the last ``last`` logged main-head training losses of a run."""
    curve = result.get('curve')  # load_results fills it for results written without one
    return statistics.mean(curve['values'][-last:]) if curve else None


def moving_average(values: Sequence[float], window: int) -> List[float]:
    """Trailing mean over up to ``window`` values (the first ones average what exists)."""
    if window < 1:
        raise ValueError(f'window must be >= 1, got {window}')
    return [statistics.fmean(values[max(0, i + 1 - window):i + 1]) for i in range(len(values))]
