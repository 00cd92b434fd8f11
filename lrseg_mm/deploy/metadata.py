"""What an exported graph records about itself: preprocessing and class names (an ONNX
file's ``metadata_props``, an OpenVINO IR's ``rt_info`` under :data:`RT_INFO_SECTION`) and
its input shape. The readers take either kind of file."""
import json
from typing import Dict, Optional, Tuple

import torch.nn as nn

# rt_info section of an OpenVINO IR holding the ONNX file's metadata_props
RT_INFO_SECTION = 'lrseg_mm'


def preprocessing_metadata(segmentor: nn.Module) -> Dict[str, str]:
    """``segmentor``'s channel order, mean, std and class names, as metadata strings."""
    meta = {}
    preprocessor = getattr(segmentor, 'data_preprocessor', None)
    if preprocessor is not None:
        meta['input_channel_order'] = 'rgb' if getattr(preprocessor, 'channel_conversion',
                                                       False) else 'bgr'
        if getattr(preprocessor, '_enable_normalize', False):
            meta['mean'] = json.dumps(preprocessor.mean.flatten().tolist())
            meta['std'] = json.dumps(preprocessor.std.flatten().tolist())
    dataset_meta = getattr(segmentor, 'dataset_meta', None) or {}
    if dataset_meta.get('classes'):
        meta['classes'] = json.dumps(list(dataset_meta['classes']))
    meta['output'] = 'logits (N, num_classes, H, W); labels = argmax over dim 1'
    return meta


def is_openvino_ir(model_file: str) -> bool:
    """Whether ``model_file`` names an OpenVINO IR (``.xml``, weights in the ``.bin``)."""
    return model_file.lower().endswith('.xml')


def _read_openvino(model_file: str):
    """The OpenVINO model of a file."""
    from .backends import import_backend
    return import_backend('openvino').Core().read_model(model_file)


def graph_metadata(model_file: str) -> Dict[str, str]:
    """The key/value metadata of ``model_file`` (ONNX file or OpenVINO IR), as strings."""
    if is_openvino_ir(model_file):
        model = _read_openvino(model_file)
        if not model.has_rt_info([RT_INFO_SECTION]):
            return {}
        return {key: model.get_rt_info([RT_INFO_SECTION, key]).astype(str)
                for key in model.get_rt_info()[RT_INFO_SECTION]}
    import onnx
    return {p.key: p.value
            for p in onnx.load(model_file, load_external_data=False).metadata_props}


def graph_input_shape(model_file: str) -> Optional[Tuple[int, int]]:
    """(H, W) of ``model_file``'s input (ONNX file or OpenVINO IR); None where dynamic."""
    if is_openvino_ir(model_file):
        dims = [d.get_length() if d.is_static else None
                for d in _read_openvino(model_file).inputs[0].get_partial_shape()]
    else:
        import onnx
        graph = onnx.load(model_file, load_external_data=False).graph
        dims = [d.dim_value or None for d in graph.input[0].type.tensor_type.shape.dim]
    h, w = dims[2:]
    return (h, w) if h and w else None
