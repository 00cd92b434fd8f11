"""benchmarks.camvid on a tiny generated CamVid-layout folder (CI has no CamVid)."""
import glob
import json
import math
import os.path as osp
import re
import shlex
import shutil
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from benchmarks.camvid import analysis, models, report, runs
from benchmarks.camvid.models import CLASSES, MODELS
from benchmarks.sections import markers, read_section
from lrseg_mm.apis import load_segmentor
from helpers import REPO, build_segmentor, count_params, run_tool, write_tiny_camvid
from tolerances import assert_within_rounding

COMMAND = [sys.executable, '-m', 'benchmarks.camvid']


def _copy_docs(tmp_path):
    copies = {}
    for key, path in (('benchmarks', 'BENCHMARKS.md'), ('readme', 'README.md'),
                      ('ablation', 'configs/lrnnet/README.md')):
        copies[key] = str(tmp_path / osp.basename(path).replace('README', f'README_{key}'))
        shutil.copy(osp.join(REPO, path), copies[key])
    return copies


def _section(path, name=report.BENCHMARK_SECTION):
    return read_section(open(path).read(), name)


def _published_ablation_tags(text):
    return re.findall(re.escape(markers(report.ABLATION_SECTION)[0][:-4]) + r'(\S+) -->', text)


def _load(variant):
    return runs.load_model(MODELS[variant] if isinstance(variant, str) else variant)


# --------------------------------------------------------------------------- data root


def test_folder_without_camvid_layout_gives_clear_error(tmp_path):
    (tmp_path / 'train').mkdir()
    with pytest.raises(FileNotFoundError, match='does not have the CamVid layout.*trainannot'):
        runs.check_camvid_root(str(tmp_path))
    result = run_tool([*COMMAND, 'train', '--data-root', str(tmp_path),
                       '--runs-dir', str(tmp_path / 'runs')], timeout=60)
    assert result.returncode == 2
    assert 'does not have the CamVid layout' in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'runs').exists()


def test_image_without_label_is_named(tmp_path):
    write_tiny_camvid(tmp_path, size=(8, 8))
    (tmp_path / 'valannot' / '0001TP_000001.png').unlink()
    with pytest.raises(FileNotFoundError, match='0001TP_000001.png'):
        runs.check_camvid_root(str(tmp_path))


def test_missing_data_root_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        runs.check_camvid_root(str(tmp_path / 'nowhere'))


def test_failed_training_is_reported_and_the_next_model_still_runs(tmp_path):
    data_root = write_tiny_camvid(tmp_path / 'camvid', size=(8, 8))
    result = run_tool([*COMMAND, 'train', '--models', 'lrnnet-a', 'lrnnet-b',
                       '--max-iters', '1', '--data-root', str(data_root), '--runs-dir',
                       str(tmp_path / 'runs'), '--quiet', '--cfg-options',
                       'model.decode_head.no_such_argument=1'], timeout=300)
    assert result.returncode == 1
    assert result.stderr.count('FAILED') == 2  # the first failure did not stop the loop
    assert 'no_such_argument' in result.stderr  # the tool's own error is shown
    assert '2 run(s) failed: lrnnet-a-seed0, lrnnet-b-seed0' in result.stderr


# --------------------------------------------------------------------------- budget, configs


def test_budget_in_epochs():
    budget = runs.Budget.make(train_images=367, batch_size=4, epochs=30)
    assert budget.max_iters == 2753  # ceil(30 * 367 / 4)
    assert budget.tag == 'e30-b4'
    assert 30 <= budget.seen_epochs < 30.02
    assert runs.Budget.make(367, 8, epochs=30).max_iters == 1377
    assert runs.Budget.make(367, 4, max_iters=2).tag == 'i2-b4'
    with pytest.raises(ValueError, match='--epochs'):
        runs.Budget.make(367, 4, epochs=0)
    with pytest.raises(ValueError, match='--batch-size'):
        runs.Budget.make(367, 0, epochs=30)


def test_checkpoint_interval_is_about_15_minutes_of_training():
    budget = runs.Budget.make(367, 4, epochs=30)
    for model in MODELS.values():
        interval = runs.checkpoint_interval(model, budget)
        minutes = interval * model.seconds_per_iter / 60
        assert 10 <= minutes <= 20 or interval == budget.max_iters, (model.name, interval)


def _recipe(cfg):
    pipeline = [{k: v for k, v in step.items()} for step in cfg.train_dataloader.dataset.pipeline]
    return dict(pipeline=pipeline, batch=cfg.train_dataloader.batch_size,
                optimizer=cfg.optim_wrapper.optimizer.to_dict(),
                scheduler=[s.to_dict() for s in cfg.param_scheduler],
                max_iters=cfg.train_cfg.max_iters, size=cfg.model.data_preprocessor.size,
                mean=cfg.model.data_preprocessor.mean, std=cfg.model.data_preprocessor.std)


def _heads(model_cfg):
    aux = model_cfg.get('auxiliary_head') or []
    return [model_cfg.decode_head] + (aux if isinstance(aux, list) else [aux])


def test_every_benchmark_config_shares_one_recipe_and_trains_from_scratch():
    recipes = {}
    for name in models.BENCHMARK_NAMES:
        cfg = Config.fromfile(osp.join(REPO, MODELS[name].config))
        recipes[name] = _recipe(cfg)
        assert all(h.num_classes == 11 for h in _heads(cfg.model)), name
        assert 'Pretrained' not in str(cfg.model) and not cfg.model.get('pretrained'), name
        assert cfg.train_dataloader.dataset.type == 'CamVidDataset'
        assert cfg.test_dataloader.dataset.data_prefix.img_path == 'val'
    reference = recipes['lrnnet-c']
    assert reference['max_iters'] == 2753 and reference['batch'] == 4
    assert tuple(reference['size']) == (360, 480)
    for name, recipe in recipes.items():
        assert recipe == reference, f'{name} departs from the shared recipe'


def test_ablation_variants_apply_their_options_to_their_model():
    base = build_segmentor(MODELS['lrnnet-c'].config)
    assert count_params(base) == 681178  # Model C with 11 classes
    svn16 = MODELS['lrnnet-c-svn16']
    model = _load(svn16)
    assert model.decode_head.svn.reduce.conv.out_channels == 16
    assert base.decode_head.svn.reduce.conv.out_channels == 32
    pairnorm = MODELS['lrnnet-c-pairnorm']
    model = _load(pairnorm)
    # one BN(c/2) -> bias(c/2) swap per branch pair: sum of c over the 13 FCBs fewer
    assert count_params(model) == 681178 - (3 * 32 + 2 * 64 + 8 * 128) == 679930
    assert not model.backbone.stages[2][1].branch_3x1_1x3[0].with_norm
    drop0 = MODELS['lrnnet-c-drop0']
    model = _load(drop0)
    assert count_params(model) == 681178
    assert all(p == 0 for p in _dropouts(model)) and any(p > 0 for p in _dropouts(base))
    model_a = build_segmentor(MODELS['lrnnet-a'].config)
    variant = MODELS['lrnnet-a-drop0']
    model = _load(variant)
    assert model.decode_head.svn is None and model_a.decode_head.svn is None
    assert count_params(model) == count_params(model_a) < 681178
    assert all(p == 0 for p in _dropouts(model)) and any(p > 0 for p in _dropouts(model_a))
    model_b = build_segmentor(MODELS['lrnnet-b'].config)
    variant = MODELS['lrnnet-b-drop0']
    model = _load(variant)
    assert model.decode_head.svn.grid_sizes == model_b.decode_head.svn.grid_sizes == [(8, 8)]
    assert count_params(model) == count_params(model_b)
    assert all(p == 0 for p in _dropouts(model)) and any(p > 0 for p in _dropouts(model_b))
    variant = MODELS['lrnnet-c-drop0-classweights']
    model = _load(variant)
    assert all(p == 0 for p in _dropouts(model))
    assert model.decode_head.loss_decode.class_weight == list(models.CAMVID_ENET_WEIGHTS)
    for variant in MODELS.values():
        if variant.variant_of:
            assert variant.variant_of in ('lrnnet-a', 'lrnnet-b', 'lrnnet-c')
            assert variant.options and variant.change
            assert variant.config == MODELS[variant.variant_of].config


def test_list_names_every_model_and_the_options_of_each_variant():
    result = run_tool([*COMMAND, 'list'], timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for model in MODELS.values():
        k = next(i for i, line in enumerate(lines) if line.split()[0] == model.name)
        assert model.config in lines[k]
        if model.options:  # the next line pastes into a shell as the variant's options
            assert shlex.split(lines[k + 1]) == ['--cfg-options', *model.options]


def test_model_c_checkpoint_fits_the_lrnnet_camvid_config():
    """A benchmark-trained Model C is the model of configs/lrnnet's CamVid config."""
    trained = _load('lrnnet-c').state_dict()
    shipped = load_segmentor(osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py'))
    shipped.load_state_dict(trained, strict=True)


def _dropouts(model):
    return [m.p for m in model.modules() if isinstance(m, torch.nn.modules.dropout._DropoutNd)]


def test_lrnnet_camvid_config_is_the_no_dropout_variant():
    """configs/lrnnet's CamVid config follows the ablation: Model C without dropout."""
    variant = MODELS['lrnnet-c-drop0']
    assert variant.in_benchmark
    benchmark = _load(variant)
    shipped = load_segmentor(osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py'))
    assert _dropouts(shipped) == _dropouts(benchmark) == []
    assert len(_dropouts(_load(variant.variant_of))) == 3 + 2 + 8 + 1  # LEDNet's
    assert str(shipped) == str(benchmark)


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope='module')
def tiny_run(tmp_path_factory):
    """One `run` of the benchmark recipe (LRNNet Model C, 2 iterations) on a tiny CamVid."""
    tmp = tmp_path_factory.mktemp('camvid_benchmark')
    data_root = write_tiny_camvid(tmp / 'camvid')
    docs = _copy_docs(tmp)
    originals = {key: open(path).read() for key, path in docs.items()}
    args = ['--models', 'lrnnet-c', '--max-iters', '2', '--batch-size', '2', '--workers', '0',
            '--latency-rounds', '2', '--data-root', str(data_root), '--runs-dir',
            str(tmp / 'runs'), '--archive-dir', str(tmp / 'archive'), '--benchmarks-md',
            docs['benchmarks'], '--readme', docs['readme'], '--ablation-md', docs['ablation'],
            '--plot', str(tmp / 'plot.png'), '--curves', str(tmp / 'curves.png'), '--quiet']
    result = run_tool([*COMMAND, 'run', *args], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    work_dir = tmp / 'runs' / 'i2-b2' / 'lrnnet-c-seed0'
    return dict(tmp=tmp, args=args, docs=docs, originals=originals, work_dir=work_dir,
                stdout=result.stdout)


def test_run_writes_result_json(tiny_run):
    work_dir = tiny_run['work_dir']
    assert (work_dir / 'iter_2.pth').is_file()
    result = json.loads((work_dir / 'result.json').read_text())
    val = result['val']
    assert 0 <= val['mIoU'] <= 100 and 0 <= val['aAcc'] <= 100
    assert list(val['IoU']) == list(CLASSES)
    assert all(v is None or 0 <= v <= 100 for v in val['IoU'].values())
    present = [v for v in val['IoU'].values() if v is not None]
    assert abs(sum(present) / len(present) - val['mIoU']) < 0.02
    assert result['params'] == count_params(build_segmentor(MODELS['lrnnet-c'].config))
    assert 2.0e9 < result['macs'] < 3.5e9  # 2.75 G multiply-adds at 360x480
    assert result['latency']['cpu_ms'] > 0 and result['latency']['threads'] == 1
    assert result['latency']['cpu']
    assert result['budget']['iterations'] == 2 and result['budget']['batch_size'] == 2
    assert result['budget']['train_images'] == 2 and result['from_scratch']
    assert result['seed'] == 0 and result['input_shape'] == [360, 480]
    # the test loop's metric and hook: confusion of every labelled val pixel, SVN attention
    assert np.array(result['confusion']).shape == (11, 11)
    assert np.array(result['confusion']).sum() > 0
    svn = result['svn']
    assert 0 < svn['entropy'] <= svn['max_entropy'] == round(math.log(80), 4)
    assert svn['uniform_weight'] == round(1 / 80, 4) <= svn['max_weight'] <= 1
    assert 0 <= svn['identity_mIoU'] <= 100
    assert (work_dir / 'eval-identity').is_dir()  # the second test run, SVN bypassed


def test_report_writes_one_row_between_markers_and_replaces_it(tiny_run):
    docs = tiny_run['docs']
    original = tiny_run['originals']['benchmarks']
    section = _section(docs['benchmarks'])
    assert section.count('LRNNet Model C') == 1
    row = next(line for line in section.splitlines() if 'LRNNet Model C' in line)
    assert len(row.strip('|').split('|')) == 5 + 11  # model, params, MACs, ms, mIoU, classes
    assert '681.18 K' in row
    # the run's 2 logged iterations give a learning-curve picture, linked from the section
    assert (tiny_run['tmp'] / 'curves.png').stat().st_size > 0
    assert 'curves.png)' in section
    # text outside the markers is kept
    written = open(docs['benchmarks']).read()
    start, end = markers(report.BENCHMARK_SECTION)
    assert written[:written.index(start)] == original[:original.index(start)]
    assert written[written.index(end):] == original[original.index(end):]
    assert 'LRNNet Model C' in _section(docs['readme'], report.SUMMARY_SECTION)
    plot = tiny_run['tmp'] / 'plot.png'
    assert plot.is_file() and plot.stat().st_size < 100_000
    # a second call (report only) replaces the section instead of adding one
    result = run_tool([*COMMAND, 'report', *tiny_run['args']], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    again = open(docs['benchmarks']).read()
    assert again.count(start) == 1 and again.count('LRNNet Model C') == 1


def test_second_run_skips_finished_runs(tiny_run):
    result = run_tool([*COMMAND, 'train', *tiny_run['args']], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'lrnnet-c-seed0: done' in result.stdout
    log = (tiny_run['work_dir'] / 'benchmark_train.log').read_text()
    assert log.count('$ ') == 1  # trained once


def _option(args, name, value):
    args = list(args)
    args[args.index(name) + 1] = value
    return args


def test_finished_run_is_archived_with_its_learning_curve_and_outlives_its_folder(tiny_run):
    archived = tiny_run['tmp'] / 'archive' / 'i2-b2' / 'lrnnet-c-seed0.json'
    result = json.loads(archived.read_text())
    assert result == json.loads((tiny_run['work_dir'] / 'result.json').read_text())
    assert result['tag'] == 'i2-b2'
    assert result['curve'] == runs.learning_curve(str(tiny_run['work_dir']))
    assert len(result['curve']['steps']) >= 1
    # a machine without the run folder (a new one): the archive still reports the run, and
    # the run counts as done instead of training again
    args = _option(tiny_run['args'], '--runs-dir', str(tiny_run['tmp'] / 'new_machine'))
    result = run_tool([*COMMAND, 'train', *args], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'lrnnet-c-seed0: done (archived in' in result.stdout
    assert not (tiny_run['tmp'] / 'new_machine' / 'i2-b2' / 'lrnnet-c-seed0').exists()
    results = runs.load_results(str(tiny_run['tmp'] / 'new_machine' / 'i2-b2'),
                                  str(tiny_run['tmp'] / 'archive'))
    assert [runs.result_name(r) for r in results] == ['lrnnet-c-seed0']
    assert runs.load_results(str(tiny_run['tmp'] / 'new_machine' / 'i2-b2')) == []


def test_confusion_counts_every_labelled_val_pixel_once_and_is_kept(tiny_run):
    result = run_tool([*COMMAND, 'confusion', *tiny_run['args']], timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert '| true class | sky |' in result.stdout and 'SVN attention' in result.stdout
    assert 'block as the identity' in result.stdout
    kept = json.loads((tiny_run['work_dir'] / 'result.json').read_text())
    confusion = np.array(kept['confusion'])
    assert confusion.shape == (11, 11)
    labels = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
              for p in sorted((tiny_run['tmp'] / 'camvid' / 'valannot').iterdir())]
    truth = np.concatenate([label.ravel() for label in labels])
    # rows are the true classes: their sums are the labelled pixels of each class
    assert confusion.sum(axis=1).tolist() == np.bincount(truth, minlength=12)[:11].tolist()
    svn = kept['svn']
    assert 0 < svn['entropy'] <= svn['max_entropy'] == round(math.log(80), 4)
    assert svn['uniform_weight'] <= svn['max_weight'] <= 1 and 'identity_mIoU' in svn
    archived = tiny_run['tmp'] / 'archive' / 'i2-b2' / 'lrnnet-c-seed0.json'
    assert json.loads(archived.read_text())['confusion'] == kept['confusion']


def test_confusion_table_rows_are_percent_of_the_true_class():
    confusion = np.zeros((11, 11), int)
    confusion[10, 8], confusion[10, 10] = 3, 1  # bicyclist: 3 pixels called car, 1 right
    table = report.confusion_table(confusion.tolist())
    row = next(line for line in table.splitlines() if line.startswith('| bike |'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[9] == '75.0' and cells[11] == '**25.0**'
    assert next(line for line in table.splitlines() if line.startswith('| sky |')).count('-') \
        == 11  # a class without pixels has no percentages


def test_pictures_show_frame_ground_truth_and_prediction(tiny_run):
    out = tiny_run['tmp'] / 'pictures.png'
    result = run_tool([*COMMAND, 'pictures', *tiny_run['args'], '--frames', '2',
                       '--picture', str(out)], timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    picture = cv2.imread(str(out))
    assert picture.shape == (2 * 180, 3 * 240, 3)  # 2 frames x (frame | truth | overlay)
    assert out.stat().st_size < 300_000
    labels = tiny_run['work_dir'] / 'pictures' / 'labels'
    for path in labels.iterdir():
        label = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert label.shape == (360, 480) and label.max() <= 10


# --------------------------------------------------------------------------- seeds, ablations


def _fake_result(budget_dir, name, seed, miou, params=681178, losses=None, **extra):
    model = MODELS[name]
    work_dir = budget_dir / f'{name}-seed{seed}'
    work_dir.mkdir(parents=True)
    iou = {c: miou for c in CLASSES}
    result = dict(model=name, title=model.title, config=model.config, seed=seed,
                  variant_of=model.variant_of, change=model.change,
                  cfg_options=list(model.options), ours=model.ours, from_scratch=True,
                  paper_pretrained=model.paper_pretrained,
                  budget=dict(epochs=3, seen_epochs=3.0, batch_size=4, train_images=367,
                              iterations=276, crop=[360, 480]),
                  checkpoint=str(work_dir / 'iter_276.pth'),
                  val=dict(mIoU=miou, aAcc=80.0, mAcc=miou, IoU=iou, Acc=iou),
                  params=params, macs=2745521088, input_shape=[360, 480],
                  latency=dict(cpu_ms=150.0, wall_ms=160.0, threads=1, rounds=20, cpu='test'),
                  train_seconds_per_iter=1.0, written='2026-01-01 00:00:00', tag='e3-b4',
                  curve=None if losses is None else dict(
                      key='decode.loss_ce', steps=list(range(10, 10 * len(losses) + 1, 10)),
                      values=losses), **extra)
    (work_dir / 'result.json').write_text(json.dumps(result))


def test_seeds_are_averaged_and_ablations_compared_to_model_c(tmp_path):
    budget_dir = tmp_path / 'e3-b4'
    # an older result keeps the SVN summary without the identity run
    attention = dict(entropy=4.3, max_entropy=4.382, max_weight=0.02, uniform_weight=0.0125)
    _fake_result(budget_dir, 'lrnnet-c', 0, 50.0, svn=attention)
    _fake_result(budget_dir, 'lrnnet-c', 1, 54.0)
    svn = dict(attention, entropy=4.0, max_weight=0.05)
    _fake_result(budget_dir, 'lrnnet-c-drop0', 0, 57.0, losses=[9.0] + [0.5] * 10,
                 svn=dict(svn, identity_mIoU=20.0))
    _fake_result(budget_dir, 'lrnnet-c-drop0', 1, 58.0, losses=[0.3] * 10,
                 svn=dict(svn, entropy=3.0, identity_mIoU=30.0))
    _fake_result(budget_dir, 'lrnnet-a', 0, 49.0, params=665_000)
    _fake_result(budget_dir, 'lrnnet-c-pairnorm', 0, 51.0, params=679_930)
    docs = _copy_docs(tmp_path)
    before = open(docs['ablation']).read()
    report.report(str(budget_dir), docs['benchmarks'], ablation_md=docs['ablation'])
    section = _section(docs['benchmarks'])
    assert '52.0 ± 2.0 (2 seeds)' in section
    # variants go to the ablation table only, but for the one marked for the benchmark
    assert MODELS['lrnnet-c-pairnorm'].title not in section
    assert [m.name for m in MODELS.values() if m.in_benchmark] == [
        'lrnnet-c-drop0', 'lrnnet-a-drop0', 'lrnnet-b-drop0']
    row = next(line for line in section.splitlines()
               if MODELS['lrnnet-c-drop0'].title in line)
    assert '57.5 ± 0.5 (2 seeds)' in row
    assert 'LRNNet Model A' in section  # Model A is in both tables
    assert open(docs['ablation']).read() == before  # one call writes one kind of table
    benchmarks = open(docs['benchmarks']).read()
    report.report(str(budget_dir), docs['benchmarks'], ablation_md=docs['ablation'],
                  ablation=True)
    assert open(docs['benchmarks']).read() == benchmarks
    ablation = _section(docs['ablation'], report.ABLATION_SECTION + 'e3-b4')
    # the published sections of the other budgets are still there, unchanged
    for tag in _published_ablation_tags(before):
        name = report.ABLATION_SECTION + tag
        assert _section(docs['ablation'], name) == read_section(before, name)
    row = next(line for line in ablation.splitlines() if '`lrnnet-c-drop0`' in line)
    cells = [c.strip() for c in row.strip('|').split('|')]
    # variant, change, params, mIoU, delta, 5 classes Model C misses, final training loss,
    # SVN entropy, largest weight, mIoU with the block as the identity
    assert len(cells) == 5 + len(report.ABLATION_CLASSES) + 4
    assert 'Δ mIoU vs `lrnnet-c`' in ablation
    assert cells[3] == '57.5 ± 0.5 (2 seeds)' and cells[4] == '+5.5'
    # mean over seeds of the last 10 logged losses (0.5, 0.3), then the SVN means
    assert cells[-4:] == ['0.400', '3.50 (4.38)', '0.050 (0.0125)', '25.0']
    row_c = [c.strip() for c in next(line for line in ablation.splitlines()
                                     if line.startswith('| `lrnnet-c` |')).strip('|').split('|')]
    # no curve kept: no loss, not a made-up one; the older SVN summary is read
    assert row_c[-4:] == ['-', '4.30 (4.38)', '0.020 (0.0125)', '-']
    row_a = next(line for line in ablation.splitlines() if '`lrnnet-a`' in line)
    assert 'Model A' in row_a and '665,000' in row_a and '-3.0' in row_a
    assert row_a.rstrip().endswith('| - | - | - |')  # no SVN block


def test_report_names_models_as_the_code_does_and_lists_runs_without_curves(tmp_path):
    budget_dir = tmp_path / 'e3-b4'
    _fake_result(budget_dir, 'lrnnet-c', 0, 50.0)  # no curve kept
    _fake_result(budget_dir, 'lrnnet-a-drop0', 0, 60.0, losses=[0.5] * 10)
    result_path = budget_dir / 'lrnnet-a-drop0-seed0' / 'result.json'
    archived = json.loads(result_path.read_text())
    archived.update(title='an older title', change='an older change')
    result_path.write_text(json.dumps(archived))
    docs = _copy_docs(tmp_path)
    report.report(str(budget_dir), docs['benchmarks'], curves_path=str(tmp_path / 'c.png'))
    section = _section(docs['benchmarks'])
    assert MODELS['lrnnet-a-drop0'].title in section
    assert 'an older title' not in section
    missing = next(line for line in section.splitlines() if line.startswith('Not in the curves'))
    assert missing.endswith(': lrnnet-c-seed0.')
    report.report(str(budget_dir), ablation_md=docs['ablation'], ablation=True)
    ablation = _section(docs['ablation'], report.ABLATION_SECTION + 'e3-b4')
    assert MODELS['lrnnet-a-drop0'].change in ablation
    assert 'an older change' not in ablation


def _write_scalars(sitting_dir, records):
    (sitting_dir / 'vis_data').mkdir(parents=True)
    with open(sitting_dir / 'vis_data' / 'scalars.json', 'w') as f:
        for record in records:
            f.write(json.dumps(record) + '\n')


def test_learning_curve_joins_sittings_and_keeps_the_main_head_loss(tmp_path):
    log = dict(time=1.0, lr=1e-3)
    _write_scalars(tmp_path / '20260101_000000', [
        dict(log, step=10, loss=3.0, **{'decode.loss_ce': 2.0}),
        dict(log, step=20, loss=2.5, **{'decode.loss_ce': 1.5}),
        dict(step=20, mIoU=1.0)])  # not a training record
    # the resumed sitting repeats iteration 20
    _write_scalars(tmp_path / '20260101_010000', [
        dict(log, step=20, loss=2.4, **{'decode.loss_ce': 1.4}),
        dict(log, step=30, loss=2.0, **{'decode.loss_ce': 1.0})])
    assert runs.learning_curve(str(tmp_path)) == dict(key='decode.loss_ce', steps=[10, 20, 30],
                                                      values=[2.0, 1.4, 1.0])
    assert runs.learning_curve(str(tmp_path / 'none')) is None


def test_moving_average_is_trailing():
    assert analysis.moving_average([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    with pytest.raises(ValueError, match='window'):
        analysis.moving_average([1], 0)


def test_enet_class_weights_follow_the_pixel_frequencies(tmp_path):
    import math
    (tmp_path / 'trainannot').mkdir()
    label = np.full((10, 10), 11, np.uint8)  # void, not counted
    label.flat[:50], label.flat[50:80], label.flat[80:90] = 0, 3, 10
    cv2.imwrite(str(tmp_path / 'trainannot' / 'a.png'), label)
    counts, weights = analysis.enet_class_weights(str(tmp_path))
    assert counts == [50, 0, 0, 30, 0, 0, 0, 0, 0, 0, 10]
    freq = [c / 90 for c in counts]
    assert weights == [round(1 / math.log(1.02 + p), 3) for p in freq]
    assert weights[1] == round(1 / math.log(1.02), 3)  # an absent class gets the largest
    with pytest.raises(FileNotFoundError, match='no label maps'):
        analysis.enet_class_weights(str(tmp_path / 'empty'))


def test_class_weight_variant_sets_the_loss_weights():
    variant = MODELS['lrnnet-c-classweights']
    model = _load(variant)
    loss = model.decode_head.loss_decode
    assert list(loss.class_weight) == list(models.CAMVID_ENET_WEIGHTS)
    assert len(models.CAMVID_ENET_WEIGHTS) == len(CLASSES)
    # CamVid batches hold void (255) pixels: the loss takes them (mmseg's own fails)
    torch.manual_seed(0)
    logits = torch.randn(1, 11, 6, 8)
    label = torch.randint(0, 11, (1, 6, 8))
    label[0, 0] = 255
    expected = torch.nn.functional.cross_entropy(
        logits.double(), label, ignore_index=255,
        weight=torch.tensor(models.CAMVID_ENET_WEIGHTS, dtype=torch.float64))
    assert_within_rounding(loss(logits, label, ignore_index=255), expected, depth=2,
                           fan_in=int((label != 255).sum()))


# --------------------------------------------------------------------------- archived results


def _archived_budgets():
    return sorted(osp.basename(d) for d in glob.glob(osp.join(runs.DEFAULT_ARCHIVE_DIR, '*'))
                  if osp.isdir(d))


@pytest.mark.parametrize('tag', _archived_budgets())
def test_archived_results_are_consistent(tag):
    results = runs.load_results(osp.join('no-such-runs-dir', tag), runs.DEFAULT_ARCHIVE_DIR)
    assert results
    for result in results:
        assert result['tag'] == tag and runs.result_name(result) in {
            osp.splitext(osp.basename(p))[0]
            for p in glob.glob(osp.join(runs.DEFAULT_ARCHIVE_DIR, tag, '*.json'))}
        present = [v for v in result['val']['IoU'].values() if v is not None]
        # per-class IoUs are kept with 1 or 2 decimals: their mean matches mIoU to rounding
        assert abs(sum(present) / len(present) - result['val']['mIoU']) <= 0.05
        iterations = result['budget']['iterations']
        assert iterations == math.ceil(result['budget']['epochs'] * 367 / 4)
        if result['curve'] is not None:
            assert result['curve']['steps'][-1] <= iterations


def test_published_camvid_table_is_the_report_of_the_archived_results():
    section = _section(osp.join(REPO, 'BENCHMARKS.md'))
    budget_line = section.splitlines()[0]
    tag = next(t for t in _archived_budgets()
               if budget_line.startswith(f'Budget: {t.split("-")[0][1:]} epochs'))
    groups = analysis.aggregate(runs.load_results(osp.join('no-such-runs-dir', tag),
                                                  runs.DEFAULT_ARCHIVE_DIR))
    table = report.benchmark_table(analysis.benchmark_groups(groups))
    assert table in section


def test_published_ablation_tables_are_the_report_of_the_archived_results():
    readme = open(osp.join(REPO, 'configs', 'lrnnet', 'README.md')).read()
    tags = _published_ablation_tags(readme)
    assert 'e5-b4' in tags and set(tags) <= set(_archived_budgets())
    for tag in tags:
        section = read_section(readme, report.ABLATION_SECTION + tag)
        epochs = int(tag.split('-')[0][1:])
        assert section.splitlines()[0].startswith(f'Budget: {epochs} epochs')
        groups = analysis.aggregate(runs.load_results(osp.join('no-such-runs-dir', tag),
                                                      runs.DEFAULT_ARCHIVE_DIR))
        assert report.ablation_table(analysis.ablation_groups(groups)) in section


def test_ablation_deltas_are_against_model_a_where_model_c_did_not_run(tmp_path):
    budget_dir = tmp_path / 'e3-b4'
    _fake_result(budget_dir, 'lrnnet-a-drop0', 0, 50.0)
    _fake_result(budget_dir, 'lrnnet-c-svn-qt', 0, 52.5)
    docs = _copy_docs(tmp_path)
    report.report(str(budget_dir), ablation_md=docs['ablation'], ablation=True)
    ablation = _section(docs['ablation'], report.ABLATION_SECTION + 'e3-b4')
    assert 'Δ mIoU vs `lrnnet-a-drop0`' in ablation
    row = next(line for line in ablation.splitlines() if '`lrnnet-c-svn-qt`' in line)
    assert [c.strip() for c in row.strip('|').split('|')][4] == '+2.5'
