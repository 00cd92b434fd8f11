from .size_checked_encoder_decoder import SizeCheckedEncoderDecoder

__all__ = ['SizeCheckedEncoderDecoder']
